from .momentum_update_hook import MomentumUpdateHook  # noqa: F401

from .momentum_update_hook import MomentumUpdateHook  # noqa: F401
from .nan_guard_hook import NanGuardHook, NonFiniteLossError  # noqa: F401
from .precise_bn_hook import PreciseBNHook  # noqa: F401

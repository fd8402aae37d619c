from .momentum_update_hook import MomentumUpdateHook  # noqa: F401
from .precise_bn_hook import PreciseBNHook  # noqa: F401

from .lars import LARS  # noqa: F401
from .online_constructor import \
    OnlineNetworkOptimWrapperConstructor  # noqa: F401
from .prefix_lr_mult import PrefixLrMultConstructor  # noqa: F401

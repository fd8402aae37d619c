from .lars import LARS  # noqa: F401
from .online_constructor import \
    OnlineNetworkOptimWrapperConstructor  # noqa: F401

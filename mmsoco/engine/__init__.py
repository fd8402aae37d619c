"""Training-side parts (optimizers, schedulers, hooks); importing this
registers them."""
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403

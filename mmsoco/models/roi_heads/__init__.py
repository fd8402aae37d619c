from .shared_heads import *  # noqa: F401,F403

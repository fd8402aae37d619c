from .checkpoint import (UnsafeCheckpointError, install_checkpoint_allowlist,
                         load_checkpoint_weights_only)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'install_checkpoint_allowlist',
    'load_checkpoint_weights_only', 'UnsafeCheckpointError'
]

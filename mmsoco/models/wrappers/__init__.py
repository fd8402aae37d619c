"""Model wrappers; importing this registers them in ``mmsoco.registry.MODEL_WRAPPERS``."""
from .cpu_distributed import (CPUDistributedDataParallel,
                              revert_sync_batchnorm_counted)

__all__ = ['CPUDistributedDataParallel', 'revert_sync_batchnorm_counted']

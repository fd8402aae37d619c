"""DDP for processes without a GPU: SyncBN layers become BN before wrapping.

The paper's recipes normalise with SyncBN across GPUs. PyTorch's DDP refuses
SyncBN in a CPU module ("SyncBatchNorm layers only work with GPU modules"), so
a CPU smoke test of such a recipe (``tools/dist_train.sh CONFIG 2`` on a
laptop) would die before its first iteration. Reverting to BN lets it run;
each process then normalises over its own batch only, which is fine for a
smoke test and not a reproduction of the GPU statistics, hence the warning.
"""
import warnings
from typing import Tuple

import torch.nn as nn
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from mmsoco.registry import MODEL_WRAPPERS


def _sync_bn_types() -> Tuple[type, ...]:
    """The SyncBN classes ``revert_sync_batchnorm`` converts (torch's, mmcv's)."""
    types = [nn.SyncBatchNorm]
    try:
        from mmcv.ops import SyncBatchNorm as MMCVSyncBatchNorm
    except ImportError:  # mmcv without compiled ops: torch's SyncBN only
        pass
    else:
        types.append(MMCVSyncBatchNorm)
    return tuple(types)


def revert_sync_batchnorm_counted(module: nn.Module) -> Tuple[nn.Module, int]:
    """``revert_sync_batchnorm(module)`` and how many SyncBN layers it had."""
    sync_bn_types = _sync_bn_types()
    count = sum(isinstance(m, sync_bn_types) for m in module.modules())
    if count:
        module = revert_sync_batchnorm(module)
    return module, count


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes (gloo backend).

    SoCo (https://arxiv.org/abs/2106.02637), running its recipes on CPU processes:
    docs/method.md section 4.

    Reverts every SyncBN layer of ``module`` to BN (mmengine's
    ``revert_sync_batchnorm``) before DDP sees it, with one warning per
    process that names how many were reverted, then wraps it as
    ``MMDistributedDataParallel`` with ``device_ids=None`` (DDP takes no device
    ids for CPU modules). ``tools/train.py`` and ``tools/test.py`` choose it
    through ``model_wrapper_cfg`` when launched with ``--launcher pytorch`` on
    a machine without CUDA (``mmsoco.utils.launch.setup_cpu_distributed``).

    Args:
        module (nn.Module): The model to wrap.
        **kwargs: ``MMDistributedDataParallel``'s other arguments. A
            ``device_ids`` (mmengine's Runner passes the local rank to every
            DDP wrapper) is replaced by None.
    """

    def __init__(self, module: nn.Module, **kwargs) -> None:
        kwargs['device_ids'] = None
        module, count = revert_sync_batchnorm_counted(module)
        if count:
            warnings.warn(
                f'No CUDA: reverted {count} SyncBatchNorm layers to '
                'BatchNorm (DDP runs SyncBN on GPUs only). Each process '
                'normalises over its own batch: a smoke test of the recipe, '
                'not its GPU statistics.')
        super().__init__(module=module, **kwargs)

"""Which RoI layer runs on which device (docs/method.md section 3).

mmcv built without CUDA ops (``MMCV_WITH_OPS=1 FORCE_CUDA=0``) imports fine
and aligns CPU tensors, but fails on CUDA tensors. An RoI extractor asks
:func:`use_torchvision_for` before each alignment; the answer is True only
for CUDA features with an mmcv that cannot align them, and the probe of mmcv
runs once per process.
"""
import functools

import torch


def mmcv_compiled_cuda_version() -> str:
    """mmcv's ``get_compiling_cuda_version()``: 'not available' for CPU ops."""
    from mmcv.ops import get_compiling_cuda_version
    return get_compiling_cuda_version()


def _probe_mmcv_roi_align_on_cuda() -> bool:
    """Run mmcv's RoIAlign once on a tiny CUDA tensor."""
    from mmcv.ops import roi_align
    feat = torch.zeros(1, 1, 4, 4, device='cuda')
    rois = torch.tensor([[0., 0., 0., 2., 2.]], device='cuda')
    try:
        roi_align(feat, rois, (2, 2), 1.0, 0, 'avg', True)
    except (RuntimeError, NotImplementedError, AssertionError):
        return False
    return True


@functools.lru_cache(maxsize=None)
def mmcv_has_cuda_roi_align() -> bool:
    """Whether mmcv's RoIAlign runs on CUDA tensors here (probed once).

    False without CUDA, for an mmcv compiled without CUDA, or when the op
    fails on a tiny CUDA input (e.g. a CUDA build for another architecture).
    """
    if not torch.cuda.is_available():
        return False
    if mmcv_compiled_cuda_version() == 'not available':
        return False
    return _probe_mmcv_roi_align_on_cuda()


def use_torchvision_for(device: torch.device) -> bool:
    """True when features on ``device`` need the torchvision RoI layer."""
    return torch.device(device).type == 'cuda' and \
        not mmcv_has_cuda_roi_align()

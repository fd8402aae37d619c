from .roi_layer_selection import mmcv_has_cuda_roi_align, use_torchvision_for
from .tv_roi_align import TVRoIAlign, torchvision_sampling_ratio

__all__ = [
    'TVRoIAlign', 'mmcv_has_cuda_roi_align', 'torchvision_sampling_ratio',
    'use_torchvision_for'
]

"""RoIAlign through torchvision, with mmcv ``RoIAlign``'s arguments.

The GPU machines mmsoco is checked on have mmcv built with CPU ops only (a
CUDA build of mmcv takes longer than a check may run), so mmcv's RoIAlign
cannot run on CUDA tensors there; torchvision's can. This layer is a drop-in
for ``dict(type='RoIAlign', ...)`` in an RoI extractor's ``roi_layer``
(docs/method.md section 3, the RoIAlign of each box on its level).
"""
from typing import Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor
from torch.nn.modules.utils import _pair

from mmsoco.registry import MODELS

#: torchvision's ``sampling_ratio`` for "adaptive": ceil(roi size / output
#: size) samples per bin. mmcv spells it 0 (any value <= 0 in its kernels).
TORCHVISION_ADAPTIVE_SAMPLING = -1


def torchvision_sampling_ratio(sampling_ratio: int) -> int:
    """mmcv's ``sampling_ratio`` -> torchvision's (0 / adaptive -> -1)."""
    if int(sampling_ratio) != sampling_ratio:
        raise ValueError(f'sampling_ratio must be an integer, got '
                         f'{sampling_ratio!r}')
    sampling_ratio = int(sampling_ratio)
    return sampling_ratio if sampling_ratio > 0 \
        else TORCHVISION_ADAPTIVE_SAMPLING


@MODELS.register_module()
class TVRoIAlign(nn.Module):
    """mmcv ``RoIAlign`` semantics computed by ``torchvision.ops.roi_align``.

    SoCo (https://arxiv.org/abs/2106.02637), section 3 (docs/method.md
    section 3): the RoIAlign that pools each box's features on its level.
    Same arguments and meaning as mmcv's ``RoIAlign``; the alignment itself
    runs in float32 (rois stay float32 even when the features are bf16 /
    fp16 under AMP, so box coordinates are not rounded) and the output has
    the input's dtype, as torchvision's own autocast rule does.
    torchvision is imported on the first forward only.

    Args:
        output_size (int | tuple[int, int]): (h, w) of the pooled output.
        spatial_scale (float): Scale from box to feature-map coordinates
            (1 / stride). Defaults to 1.
        sampling_ratio (int): Samples per bin side; 0 (mmcv's spelling, any
            value <= 0) is adaptive. Defaults to 0.
        pool_mode (str): Only ``'avg'`` (torchvision has no max mode).
        aligned (bool): Shift boxes by -0.5 px (the pixel model of
            Detectron2); passed through. Defaults to True.
    """

    def __init__(self,
                 output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float = 1.0,
                 sampling_ratio: int = 0,
                 pool_mode: str = 'avg',
                 aligned: bool = True) -> None:
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError("TVRoIAlign supports pool_mode='avg' only "
                             f'(torchvision has no max mode), got '
                             f'{pool_mode!r}')
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.torchvision_sampling_ratio = torchvision_sampling_ratio(
            sampling_ratio)
        self.pool_mode = pool_mode
        self.aligned = bool(aligned)

    @classmethod
    def from_mmcv(cls, layer: nn.Module) -> 'TVRoIAlign':
        """The same layer as an mmcv ``RoIAlign`` instance."""
        return cls(layer.output_size, layer.spatial_scale,
                   layer.sampling_ratio, layer.pool_mode, layer.aligned)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """(n, C, h, w) features of ``rois`` (n, 5) ``[batch_idx, x1, y1,
        x2, y2]`` in box coordinates, from ``input`` (N, C, H, W)."""
        if rois.dim() != 2 or rois.size(1) != 5:
            raise ValueError(f'rois must be (n, 5) [batch_idx, x1, y1, x2, '
                             f'y2], got shape {tuple(rois.shape)}')
        from torchvision.ops import roi_align
        out = roi_align(input.float(), rois.to(input.device, torch.float32),
                        self.output_size, self.spatial_scale,
                        self.torchvision_sampling_ratio, self.aligned)
        return out.to(input.dtype)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale='
                f'{self.spatial_scale}, sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}')

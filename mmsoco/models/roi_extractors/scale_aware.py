"""Scale-aware RoI feature extraction of SoCo (docs/method.md sections 3.2-3.3).

SoCo puts each box on ONE FPN level chosen by its size in view pixels
(s = sqrt(w * h): P2 if s <= 48, P3 if <= 96, P4 if <= 192, P5 if <= 224,
larger boxes unassigned) and RoIAligns it there. The two views of a pair may put
the same proposal on different levels; that cross-scale pair is a positive.

:meth:`ScaleAwareRoIExtractor.forward` aligns each box on its own level only
(mmdet's RoI-extractor interface). The reference instead aligns every box on
every level and lets the head run once per level, keeping each box's own
level afterwards: the algorithm does that with :meth:`align_on_level`
(``SoCo(head_batching='per_level')``, docs/method.md section 3.3). The RoI
features a box keeps are the same either way; the BN batches of the head that
follows are not. The level rule itself lives in :mod:`mmsoco.structures.boxes`.

Box scale: given the view's size (``view_size``, SoCo always passes it), boxes
go from view pixels to each level's pixels by that level's real size over the
view's size, as the reference does (a 112-px view's P5 is 4 x 4: 1/28, not
1/stride = 1/32; :func:`~mmsoco.structures.boxes.feature_map_scale`); without
it, by 1 / stride (mmdet's rule). The RoI layers then run at spatial scale 1.

Precision: the alignment runs in float32 (autocast off, features and boxes
cast up), as the reference's (it casts the features to the boxes' float32
dtype under apex); the RoI features stay float32 and the head's first layer
casts them under autocast as it would any input.

RoI layer: ``roi_layer`` names mmcv's ``RoIAlign`` or an mmsoco layer
(``TVRoIAlign``). An mmcv layer meeting CUDA features where mmcv was built
without CUDA ops is replaced, for those features, by the same layer computed
by torchvision (:mod:`mmsoco.models.layers.roi_layer_selection`); on CPU the
mmcv layer runs.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.ops import RoIAlign as MMCVRoIAlign
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from mmengine.logging import print_log
from torch import Tensor

from mmsoco.models.layers import TVRoIAlign, use_torchvision_for
from mmsoco.registry import MODELS
from mmsoco.structures.boxes import (SOCO_LEVEL_RANGES, assign_boxes_to_levels,
                                     feature_map_scale, map_roi_levels_mmdet,
                                     rois_to_feature_pixels)

LEVEL_MAPPINGS = ('scale_aware', 'mmdet', 'fixed')
OVERSIZE_POLICIES = ('drop', 'clamp')


@MODELS.register_module()
class ScaleAwareRoIExtractor(BaseRoIExtractor):
    """RoIAlign each box on the one feature level its size selects.

    SoCo (https://arxiv.org/abs/2106.02637), scale-aware assignment:
    docs/method.md section 3.2.

    mmdet's RoI-extractor interface: ``forward(feats, rois)`` with ``rois`` of
    shape (n, 5) ``[batch_idx, x1, y1, x2, y2]`` returns (n, C, s, s) float32
    (or float64) features, aligned in float32 even under autocast. With
    ``view_size`` the boxes are scaled to each level by its real size over
    the view's (the reference's rule), else by 1 / stride.
    Boxes the level rule leaves unassigned (``oversize='drop'``) get zero
    features; :meth:`assign` reports them (level -1) so callers can leave them
    out of every pair.

    Args:
        roi_layer (dict): RoI layer config, e.g. ``dict(type='RoIAlign',
            output_size=7, sampling_ratio=0, aligned=True)`` (mmcv) or
            ``dict(type='TVRoIAlign', ...)`` (torchvision, same arguments).
            An mmcv layer on CUDA features without mmcv CUDA ops runs as
            ``TVRoIAlign`` (one info line in the log).
        out_channels (int): Channels of the input feature maps.
        featmap_strides (list[int]): Strides of the input feature maps.
        level_mapping (str): ``'scale_aware'`` (SoCo's ranges),
            ``'mmdet'`` (mmdet's ``finest_scale`` rule, every box assigned) or
            ``'fixed'`` (every box on ``fixed_level``; scale-awareness off).
        scale_ranges (Sequence[float]): Upper bounds of sqrt(area) per level
            for ``'scale_aware'``; one per feature map.
        finest_scale (float): mmdet's rule parameter. Defaults to 56.
        fixed_level (int): The level for ``'fixed'``. Defaults to 0.
        oversize (str): Boxes above the last range: ``'drop'`` (level -1,
            zero features) or ``'clamp'`` (the top level).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 roi_layer: dict,
                 out_channels: int,
                 featmap_strides: List[int],
                 level_mapping: str = 'scale_aware',
                 scale_ranges: Sequence[float] = SOCO_LEVEL_RANGES,
                 finest_scale: float = 56,
                 fixed_level: int = 0,
                 oversize: str = 'drop',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            roi_layer=roi_layer,
            out_channels=out_channels,
            featmap_strides=featmap_strides,
            init_cfg=init_cfg)
        if level_mapping not in LEVEL_MAPPINGS:
            raise ValueError(f'level_mapping must be one of {LEVEL_MAPPINGS}, '
                             f'got {level_mapping!r}')
        if oversize not in OVERSIZE_POLICIES:
            raise ValueError(f'oversize must be one of {OVERSIZE_POLICIES}, '
                             f'got {oversize!r}')
        if level_mapping == 'scale_aware' and \
                len(scale_ranges) != self.num_inputs:
            raise ValueError(
                f'scale_ranges {tuple(scale_ranges)} needs one bound per '
                f'feature map ({self.num_inputs} featmap_strides)')
        if level_mapping == 'fixed' and \
                not 0 <= fixed_level < self.num_inputs:
            raise ValueError(f'fixed_level {fixed_level} is not a level of '
                             f'{self.num_inputs} feature maps')
        if list(scale_ranges) != sorted(scale_ranges):
            raise ValueError(f'scale_ranges must increase: {scale_ranges}')
        self.level_mapping = level_mapping
        self.scale_ranges = tuple(float(r) for r in scale_ranges)
        self.finest_scale = finest_scale
        self.fixed_level = fixed_level
        self.oversize = oversize
        # torchvision twins of mmcv layers, built on first need (a plain
        # list: RoI layers hold no state, the state dict stays the same).
        self._torchvision_layers: Optional[List[nn.Module]] = None

    def build_roi_layers(self, layer_cfg: dict,
                         featmap_strides: List[int]) -> nn.ModuleList:
        """One RoI layer per stride, at spatial scale 1 (:meth:`_align` hands
        it boxes in feature pixels): an mmsoco layer (``TVRoIAlign``) from
        mmsoco's registry, anything else an mmcv op as mmdet builds it."""
        layer_type = layer_cfg.get('type')
        if isinstance(layer_type, str) and \
                layer_type in MODELS.module_dict:
            return nn.ModuleList(
                MODELS.build(dict(layer_cfg, spatial_scale=1.))
                for _ in featmap_strides)
        layers = super().build_roi_layers(layer_cfg, featmap_strides)
        for layer in layers:
            layer.spatial_scale = 1.
        return layers

    def roi_layer_for(self, level: int, feat: Tensor) -> nn.Module:
        """The layer that aligns ``feat`` (level ``level``): the configured
        one, or its torchvision twin for CUDA features mmcv cannot align."""
        layer = self.roi_layers[level]
        if not isinstance(layer, MMCVRoIAlign) or \
                not use_torchvision_for(feat.device):
            return layer
        if self._torchvision_layers is None:
            self._torchvision_layers = [
                TVRoIAlign.from_mmcv(lay) for lay in self.roi_layers
            ]
            print_log(
                f'{type(self).__name__}: mmcv has no CUDA RoIAlign here; '
                'CUDA features are aligned by torchvision (TVRoIAlign, same '
                'arguments).',
                logger='current')
        return self._torchvision_layers[level]

    def feature_scale(
            self, level: int, feat: Tensor,
            view_size: Optional[Sequence[int]]) -> Tuple[float, float]:
        """(x, y) factors from view pixels to level ``level``'s pixels: the
        map's real size over ``view_size`` (h, w), or 1 / stride without
        it."""
        if view_size is None:
            return (1 / self.featmap_strides[level], ) * 2
        return feature_map_scale(tuple(view_size), tuple(feat.shape[-2:]))

    def _align(self, level: int, feats: Tuple[Tensor], rois: Tensor,
               view_size: Optional[Sequence[int]]) -> Tensor:
        """RoIAlign on one level in float32 (float64 stays float64), with
        autocast off: under AMP the features are float16 / bfloat16, and an
        mmcv op would otherwise align (and round the boxes) in that dtype."""
        feat = feats[level]
        dtype = torch.promote_types(feat.dtype, torch.float32)
        rois = rois_to_feature_pixels(
            rois.to(feat.device, dtype),
            self.feature_scale(level, feat, view_size))
        layer = self.roi_layer_for(level, feat)
        with torch.autocast(device_type=feat.device.type, enabled=False):
            return layer(feat.to(dtype), rois)

    def assign(self, rois: Tensor) -> Tensor:
        """Feature level of each RoI, (n,) int64; -1 marks a dropped RoI."""
        boxes = rois[:, 1:5]
        if self.level_mapping == 'fixed':
            return torch.full((rois.size(0), ),
                              self.fixed_level,
                              dtype=torch.long,
                              device=rois.device)
        if self.level_mapping == 'mmdet':
            return map_roi_levels_mmdet(boxes, self.num_inputs,
                                        self.finest_scale)
        levels = assign_boxes_to_levels(boxes, self.scale_ranges)
        if self.oversize == 'clamp':
            levels = torch.where(levels < 0,
                                 torch.full_like(levels, self.num_inputs - 1),
                                 levels)
        return levels

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                roi_scale_factor: Optional[float] = None,
                levels: Optional[Tensor] = None,
                view_size: Optional[Sequence[int]] = None) -> Tensor:
        """RoI features, (n, C, s, s); dropped RoIs are zeros.

        Args:
            feats (tuple[Tensor]): One feature map per stride.
            rois (Tensor): (n, 5) ``[batch_idx, x1, y1, x2, y2]`` in input
                pixels.
            roi_scale_factor (float, optional): Rescale RoIs about their
                centres after level assignment, as mmdet does.
            levels (Tensor, optional): Precomputed :meth:`assign` output.
            view_size (Sequence[int], optional): (h, w) of the input the
                features come from; None scales boxes by 1 / stride.
        """
        if levels is None:
            levels = self.assign(rois)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        out_size = self.roi_layers[0].output_size
        roi_feats = feats[0].new_zeros(
            rois.size(0),
            self.out_channels,
            *out_size,
            dtype=torch.promote_types(feats[0].dtype, torch.float32))
        for i in range(self.num_inputs):
            inds = (levels == i).nonzero(as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                roi_feats[inds] = self._align(i, feats, rois[inds], view_size)
            else:
                # Keep every level in the graph: an unused level would leave
                # its FPN parameters without gradient on this rank only, which
                # stalls DDP (mmdet's SingleRoIExtractor does the same).
                roi_feats = roi_feats + feats[i].sum() * 0.
        return roi_feats

    def align_on_level(self,
                       feats: Tuple[Tensor],
                       rois: Tensor,
                       level: int,
                       view_size: Optional[Sequence[int]] = None) -> Tensor:
        """Every RoI aligned on feature level ``level``, (n, C, s, s).

        The reference's way: each box set is aligned on every level in turn
        and the head runs on each level's batch (docs/method.md section 3.3).
        ``view_size`` as in :meth:`forward`.
        """
        return self._align(level, feats, rois, view_size)

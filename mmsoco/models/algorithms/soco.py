"""SoCo: Selective Object COntrastive pretraining (SOCO_SPEC sections 3 and 4).

Online network: backbone -> FPN -> scale-aware RoIAlign -> 4conv1fc head ->
projector -> predictor (C4 variant: backbone C4 -> RoIAlign 14x14 -> res5 +
average pooling -> projector -> predictor). The target is the EMA copy
without the predictor. Every view passes both networks; for each configured
view pair (a, b) the loss is, over the matched box pairs (``pair_matches``
rows (i, j)), L(a -> b) + L(b -> a) with
L(a -> b) = 2 - 2 * mean cos(pred_online(a)_i, proj_target(b)_j).
Boxes the RoI extractor drops (above the last scale range) form no pair.

State-dict keys (fixed contract, see the converters): ``backbone.*``,
``neck.*``, ``bbox_head.shared_convs.*`` / ``bbox_head.shared_fcs.*`` (or
``shared_head.layer4.*`` for C4), ``projector.*``, ``predictor.*`` and
``target.{backbone,neck,bbox_head|shared_head,projector}.*``.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck
from mmdet.structures.bbox import bbox2roi
from mmengine.model import constant_init
from torch import Tensor

from mmsoco.models.roi_extractors.scale_aware import select_levels
from mmsoco.models.utils.ema import copy_online_to_target_
from mmsoco.registry import MODELS
from .base import BaseMomentumModel


@MODELS.register_module()
class SoCo(BaseMomentumModel):
    """Object-level BYOL over selective-search boxes in several views.

    Args:
        backbone (dict): e.g. mmdet ``ResNet``.
        roi_extractor (dict): ``ScaleAwareRoIExtractor`` config.
        projector (dict): ``ProjectionMLP`` config.
        predictor (dict): ``ProjectionMLP`` config.
        neck (dict, optional): ``FPN`` config; None for C4.
        bbox_head (dict, optional): FPN variant: the 4conv1fc trunk, e.g.
            the architecture base's ``bbox_head_trunk``; built as
            ``ConvFCFeatureHead`` unless it names another ``type``.
        shared_head (dict, optional): C4 variant: mmdet's ``ResLayer`` (res5),
            as in the detector; its output map is average-pooled here, and
            when the backbone zero-inits residual BNs so does res5 (it is the
            same ResNet's last stage). Exactly one of the two heads.
        **kwargs: :class:`BaseMomentumModel` arguments (loss, momentum,
            view_pairs, data_preprocessor, init_cfg).
    """

    def __init__(self,
                 backbone: dict,
                 roi_extractor: dict,
                 projector: dict,
                 predictor: dict,
                 neck: Optional[dict] = None,
                 bbox_head: Optional[dict] = None,
                 shared_head: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if (bbox_head is None) == (shared_head is None):
            raise ValueError('SoCo needs exactly one of bbox_head (FPN) and '
                             'shared_head (C4)')
        self.backbone = MODELS.build(backbone)
        names = ['backbone']
        if neck is not None:
            self.neck = MODELS.build(neck)
            names.append('neck')
        self.head_name = 'bbox_head' if bbox_head is not None \
            else 'shared_head'
        if bbox_head is not None:
            bbox_head = dict(type='ConvFCFeatureHead', **bbox_head) \
                if 'type' not in bbox_head else bbox_head
        setattr(self, self.head_name,
                MODELS.build(bbox_head if bbox_head is not None
                             else shared_head))
        names.append(self.head_name)
        self.projector = MODELS.build(projector)
        names.append('projector')
        self.predictor = MODELS.build(predictor)
        self.roi_extractor = MODELS.build(roi_extractor)
        self._init_target(names)

    @property
    def with_neck(self) -> bool:
        return 'neck' in self._target_names

    def init_weights(self) -> None:
        """Initialise (res5 like the backbone's stages), then copy to target."""
        super().init_weights()
        if self.head_name == 'shared_head' and getattr(
                self.backbone, 'zero_init_residual', False):
            zero_init_last_norms(self.shared_head)
            copy_online_to_target_(self.target, self._online_parts())

    def _embed(self, net, img: Tensor, rois: Tensor, levels: Tensor,
               predict: bool) -> Tensor:
        """Embeddings of ``rois`` in one view through ``net`` (online/target)."""
        feats = net['backbone'](img)
        if self.with_neck:
            feats = net['neck'](feats)
        head, projector = net[self.head_name], net['projector']

        def embed_roi_feats(roi_feats):
            x = head(roi_feats)
            if x.dim() == 4:  # C4: res5 map -> 2048-d by average pooling
                x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            z = projector(x)
            return self.predictor(z) if predict else z

        if self.roi_extractor.mode == 'all_levels':
            # The reference's computation, kept for benchmarking: head,
            # projector and predictor run on every box at every level (each
            # level a batch of its own), the box's own level is kept after.
            per_level = self.roi_extractor.forward_all_levels(feats, rois)
            return select_levels(
                torch.stack([embed_roi_feats(f) for f in per_level]), levels)
        return embed_roi_feats(
            self.roi_extractor(feats, rois, levels=levels))

    def _view_rois(self, data_samples: list, view: int,
                   device) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """RoIs of one view over the batch and their bookkeeping.

        Returns:
            rois of the kept boxes (m, 5), their levels (m,), the keep mask
            over all boxes (n,), the compact index of every box (n,) (its row
            among the kept ones) and the first box of each sample (B,).
        """
        boxes = [
            sample.bboxes[view].to(device=device, dtype=torch.float32)
            for sample in data_samples
        ]
        counts = torch.tensor([len(b) for b in boxes], device=device)
        offsets = torch.cumsum(counts, 0) - counts
        rois = bbox2roi(boxes)
        levels = self.roi_extractor.assign(rois)
        keep = levels >= 0
        compact = torch.cumsum(keep.long(), 0) - 1
        return rois[keep], levels[keep], keep, compact, offsets

    def _pair_rows(self, data_samples: list, pair_index: int, views,
                   book) -> Tuple[Tensor, Tensor]:
        """Rows of the kept embeddings that each matched box pair uses."""
        a, b = views
        rows_a, rows_b = [], []
        for s, sample in enumerate(data_samples):
            matches = sample.pair_matches[pair_index]
            matches = torch.as_tensor(
                matches, device=book[a][2].device).long().view(-1, 2)
            for col, view in ((0, a), (1, b)):
                num = len(sample.bboxes[view])
                if matches.numel() and (matches[:, col].min() < 0
                                        or matches[:, col].max() >= num):
                    raise IndexError(
                        f'pair_matches[{pair_index}] of '
                        f'{sample.metainfo.get("img_path", f"sample {s}")} '
                        f'points outside the {num} boxes of view {view}')
            rows_a.append(matches[:, 0] + book[a][4][s])
            rows_b.append(matches[:, 1] + book[b][4][s])
        rows_a, rows_b = torch.cat(rows_a), torch.cat(rows_b)
        both_kept = book[a][2][rows_a] & book[b][2][rows_b]
        return book[a][3][rows_a[both_kept]], book[b][3][rows_b[both_kept]]

    def loss(self, inputs: List[Tensor],
             data_samples: list) -> Dict[str, Tensor]:
        """Symmetric object-level loss over the view pairs.

        Args:
            inputs (list[Tensor]): One (B, 3, H_v, W_v) batch per view.
            data_samples (list[SoCoDataSample]): Boxes per view and the
                matched box pairs per view pair.
        """
        pairs = self.view_pairs(data_samples, len(inputs))
        views = sorted({v for pair in pairs for v in pair})
        device = inputs[0].device
        book = {v: self._view_rois(data_samples, v, device) for v in views}
        online = self._online_parts()
        preds = {
            v: self._embed(online, inputs[v], book[v][0], book[v][1], True)
            for v in views
        }
        with torch.no_grad():
            projs = {
                v: self._embed(self.target, inputs[v], book[v][0], book[v][1],
                               False)
                for v in views
            }
        losses = {}
        for p, (a, b) in enumerate(pairs):
            rows_a, rows_b = self._pair_rows(data_samples, p, (a, b), book)
            losses.update(
                self.symmetric_pair_losses(a, b, preds, projs, rows_a,
                                           rows_b))
        dropped = sum(int((~book[v][2]).sum()) for v in views)
        losses['dropped_boxes'] = torch.tensor(float(dropped), device=device)
        return losses

    def extract_feat(self, inputs: List[Tensor],
                     data_samples: list) -> List[Tensor]:
        """Online projections of each view's kept boxes."""
        device = inputs[0].device
        out = []
        for v, img in enumerate(inputs):
            rois, levels = self._view_rois(data_samples, v, device)[:2]
            out.append(
                self._embed(self._online_parts(), img, rois, levels, False))
        return out


def zero_init_last_norms(module: nn.Module) -> None:
    """Zero the last BN of every residual block (mmdet ResNet's rule)."""
    for block in module.modules():
        if isinstance(block, Bottleneck):
            constant_init(block.norm3, 0)
        elif isinstance(block, BasicBlock):
            constant_init(block.norm2, 0)

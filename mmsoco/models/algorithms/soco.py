"""SoCo: Selective Object COntrastive pretraining (docs/method.md sections 3 and 4).

Online network: backbone -> FPN -> scale-aware RoIAlign -> 4conv1fc head ->
projector -> predictor (C4 variant: backbone C4 -> RoIAlign 14x14 -> res5 +
average pooling -> projector -> predictor). The target is the EMA copy
without the predictor. Every view passes both networks once; its box sets
(one per view pair it is in: V1 has one for (V1, V2) and one for (V1, V3))
go through the head, projector and predictor as ``head_batching`` says:

``'per_level'`` (the reference, default)
    each box set is RoIAligned on every FPN level and each level is one batch
    of head + projector + predictor (so training-mode BN statistics are those
    of the set's N*K RoIs at one level, boxes assigned elsewhere included);
    every box keeps the output of its own level. C4: one batch per set.
``'mixed_levels'`` (fast)
    one batch per view: all its box sets together, each box RoIAligned on its
    own level only, levels mixed in the BN batch. The RoI features a box
    keeps are the same; the BN batches (so the training-mode outputs) differ.
    About a quarter of the head work on FPN; not validated at ImageNet scale.

For each view pair (a, b) the loss is L(a -> b) + L(b -> a) over the matched
box pairs of the two sets (every same-id pair whose boxes both have a
level), normalised per image then averaged over the batch's images
(:class:`~mmsoco.models.losses.CosineSimilarityLoss`).

State-dict keys (fixed contract, see the converters): ``backbone.*``,
``neck.*``, ``bbox_head.shared_convs.*`` / ``bbox_head.shared_fcs.*`` (or
``shared_head.layer4.*`` for C4), ``projector.*``, ``predictor.*`` and
``target.{backbone,neck,bbox_head|shared_head,projector}.*``,
``target.steps``.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck
from mmengine.model import constant_init
from torch import Tensor

from mmsoco.models.utils.box_sets import BoxSet, matched_rows, stack_box_set
from mmsoco.models.utils.collapse import embedding_stats
from mmsoco.registry import MODELS
from .base import BaseMomentumModel

HEAD_BATCHINGS = ('per_level', 'mixed_levels')

#: A box set: (pair index, side) -- side 0 is the pair's first view.
SetKey = Tuple[int, int]


@MODELS.register_module()
class SoCo(BaseMomentumModel):
    """Object-level BYOL over selective-search boxes in several views.

    SoCo (https://arxiv.org/abs/2106.02637), section 3 (docs/method.md
    sections 3 and 4): the whole detector (backbone, FPN, R-CNN head) is
    pretrained to map the same proposal in different views, at different
    scales, to the same embedding.

    Args:
        backbone (dict): e.g. mmdet ``ResNet``.
        roi_extractor (dict): ``ScaleAwareRoIExtractor`` config.
        projector (dict): ``ProjectionMLP`` config.
        predictor (dict): ``ProjectionMLP`` config.
        neck (dict, optional): ``FPN`` config; None for C4.
        bbox_head (dict, optional): FPN variant: the 4conv1fc trunk, e.g.
            ``dict(type='ConvFCFeatureHead', **bbox_head_trunk)`` with the
            architecture base's trunk. A config without ``type`` is refused.
        shared_head (dict, optional): C4 variant: mmdet's ``ResLayer`` (res5),
            as in the detector; its output map is average-pooled here, and
            when the backbone zero-inits residual BNs so does res5 (it is the
            same ResNet's last stage). Exactly one of the two heads.
        head_batching (str): ``'per_level'`` (the reference's BN batches:
            one per view, box set and FPN level) or ``'mixed_levels'`` (one
            per view, levels mixed; faster, different BN statistics). See the
            module docstring. Defaults to ``'per_level'``.
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
                 head_batching: str = 'per_level',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if head_batching not in HEAD_BATCHINGS:
            raise ValueError(f'head_batching must be one of {HEAD_BATCHINGS},'
                             f' got {head_batching!r}')
        self.head_batching = head_batching
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
        head_cfg = bbox_head if bbox_head is not None else shared_head
        if 'type' not in head_cfg:
            raise KeyError(f'{self.head_name} needs a type, e.g. '
                           "dict(type='ConvFCFeatureHead', ...) for the FPN "
                           'variant; got keys ' + str(sorted(head_cfg)))
        setattr(self, self.head_name, MODELS.build(head_cfg))
        names.append(self.head_name)
        self.projector = MODELS.build(projector)
        names.append('projector')
        self.predictor = MODELS.build(predictor)
        self.roi_extractor = MODELS.build(roi_extractor)
        self._init_target(names)

    @property
    def with_neck(self) -> bool:
        return 'neck' in self._target_names

    def _finish_recipe_init(self) -> None:
        """C4: res5 zero-inits its residual BNs like the backbone's stages
        (before a warm start, which loads res5 from the checkpoint)."""
        if self.head_name == 'shared_head' and getattr(
                self.backbone, 'zero_init_residual', False):
            zero_init_last_norms(self.shared_head)

    # ------------------------------------------------------------ network
    def _features(self, net: nn.ModuleDict, img: Tensor) -> Tuple[Tensor]:
        feats = net['backbone'](img)
        return net['neck'](feats) if self.with_neck else feats

    def _embed_roi_feats(self, net: nn.ModuleDict, roi_feats: Tensor,
                         predict: bool) -> Tensor:
        """Head -> (C4: average pooling) -> projector -> (predictor).

        With ``predict`` the rows are ``[projection, prediction]`` side by
        side (split by :meth:`_split`): the projection is logged for the
        collapse read-out, and every row operation below (level selection,
        scatter, split into sets) then treats both alike.
        """
        x = net[self.head_name](roi_feats)
        if x.dim() == 4:  # C4: res5 map -> 2048-d by average pooling
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        z = net['projector'](x)
        return torch.cat([z, self.predictor(z)], dim=1) if predict else z

    def _split(self, rows: Tensor) -> Tuple[Tensor, Tensor]:
        """``[projection, prediction]`` rows -> (projection, prediction)."""
        width = self.projector.out_channels
        return rows[:, :width], rows[:, width:]

    def _embed_per_level(self, net: nn.ModuleDict, feats: Tuple[Tensor],
                         rois: Tensor, levels: Tensor, predict: bool,
                         view_size: Tuple[int, int]) -> Tensor:
        """The reference: one batch per level, each box keeps its own."""
        out = None
        for level in range(self.roi_extractor.num_inputs):
            z = self._embed_roi_feats(
                net,
                self.roi_extractor.align_on_level(feats, rois, level,
                                                  view_size), predict)
            if out is None:
                out = torch.zeros_like(z)
            mine = (levels == level)[:, None]
            out = torch.where(mine, z, out)
        return out

    def _embed_mixed(self, net: nn.ModuleDict, feats: Tuple[Tensor],
                     rois: Tensor, levels: Tensor, predict: bool,
                     view_size: Tuple[int, int]) -> Tensor:
        """The fast path: one batch, each kept box on its own level only."""
        kept = levels >= 0
        roi_feats = self.roi_extractor(
            feats, rois[kept], levels=levels[kept], view_size=view_size)
        z = self._embed_roi_feats(net, roi_feats, predict)
        out = z.new_zeros(rois.size(0), z.size(1))
        out[kept] = z
        return out

    def _embed_view(self, net: nn.ModuleDict, img: Tensor,
                    sets: Dict[SetKey, BoxSet], levels: Dict[SetKey, Tensor],
                    predict: bool) -> Dict[SetKey, Tensor]:
        """Embeddings of every box of one view's box sets, (n_set, d) each.

        Boxes are in view pixels; the view's (h, w) scales them to each
        feature level (the level's real size over the view's).
        """
        feats = self._features(net, img)
        view_size = tuple(img.shape[-2:])
        if self.head_batching == 'per_level':
            return {
                key:
                self._embed_per_level(net, feats, sets[key].rois, levels[key],
                                      predict, view_size)
                for key in sets
            }
        keys = list(sets)
        sizes = [sets[key].rois.size(0) for key in keys]
        joint = self._embed_mixed(net, feats,
                                  torch.cat([sets[key].rois for key in keys]),
                                  torch.cat([levels[key] for key in keys]),
                                  predict, view_size)
        return dict(zip(keys, joint.split(sizes)))

    # --------------------------------------------------------------- loss
    def _box_sets(self, data_samples: list, pairs, device):
        """Every (pair, side) box set over the batch and its levels."""
        sets, levels = {}, {}
        for p in range(len(pairs)):
            for side in (0, 1):
                key = (p, side)
                sets[key] = stack_box_set(
                    [sample.pair_bboxes[p][side] for sample in data_samples],
                    device)
                levels[key] = self.roi_extractor.assign(sets[key].rois)
        return sets, levels

    def _embed_all(self, net: nn.ModuleDict, inputs: List[Tensor], pairs, sets,
                   levels, predict: bool) -> Dict[SetKey, Tensor]:
        out = {}
        for view in sorted({v for pair in pairs for v in pair}):
            keys = [(p, side) for p, pair in enumerate(pairs)
                    for side in (0, 1) if pair[side] == view]
            out.update(
                self._embed_view(net, inputs[view],
                                 {key: sets[key]
                                  for key in keys},
                                 {key: levels[key]
                                  for key in keys}, predict))
        return out

    def loss(self, inputs: List[Tensor],
             data_samples: list) -> Dict[str, Tensor]:
        """Symmetric object-level loss over the view pairs.

        Args:
            inputs (list[Tensor]): One (B, 3, H_v, W_v) batch per view.
            data_samples (list[SoCoDataSample]): Box sets per view pair and
                their matched box pairs.
        """
        pairs = self.view_pairs(data_samples, len(inputs))
        sets, levels = self._box_sets(data_samples, pairs, inputs[0].device)
        online = self._embed_all(self._online_parts(), inputs, pairs, sets,
                                 levels, True)
        online = {key: self._split(rows) for key, rows in online.items()}
        online_projs = {key: proj for key, (proj, _) in online.items()}
        preds = {key: pred for key, (_, pred) in online.items()}
        with torch.no_grad():
            projs = self._embed_all(self.target, inputs, pairs, sets, levels,
                                    False)
        losses = {}
        for p, (a, b) in enumerate(pairs):
            rows = matched_rows(
                [sample.pair_matches[p]
                 for sample in data_samples], sets[(p, 0)], sets[(p, 1)],
                levels[(p, 0)] >= 0, levels[(p, 1)] >= 0)
            losses.update(
                self.symmetric_pair_losses(a, b, preds[(p, 0)], projs[(p, 0)],
                                           preds[(p, 1)], projs[(p, 1)], rows,
                                           len(data_samples)))
        dropped = sum(int((lv < 0).sum()) for lv in levels.values())
        losses['dropped_boxes'] = torch.tensor(
            float(dropped), device=inputs[0].device)
        # Collapse read-outs of the online projections of every kept box.
        kept = {key: levels[key] >= 0 for key in sets}
        losses.update(
            embedding_stats(
                torch.cat([online_projs[key][kept[key]] for key in sets]),
                torch.cat([sets[key].rois[kept[key], 0] for key in sets])))
        return losses

    def extract_feat(self, inputs: List[Tensor],
                     data_samples: list) -> Dict[SetKey, Tensor]:
        """Online projections of every box set, keyed by (pair, side).

        Rows of boxes without a feature level are zeros.
        """
        pairs = self.view_pairs(data_samples, len(inputs))
        sets, levels = self._box_sets(data_samples, pairs, inputs[0].device)
        return self._embed_all(self._online_parts(), inputs, pairs, sets,
                               levels, False)


def zero_init_last_norms(module: nn.Module) -> None:
    """Zero the last BN of every residual block (mmdet ResNet's rule)."""
    for block in module.modules():
        if isinstance(block, Bottleneck):
            constant_init(block.norm3, 0)
        elif isinstance(block, BasicBlock):
            constant_init(block.norm2, 0)

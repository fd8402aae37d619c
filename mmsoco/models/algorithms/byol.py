"""The image-level baseline built from SoCo's parts: BYOL (docs/method.md section 4).

Same data (views), same projector/predictor, same loss, EMA and optimiser as
SoCo, but each view is one box covering the whole view: backbone -> global
average pooling of the last stage -> projector -> predictor. No FPN, no RoI
head. Comparisons against SoCo are therefore like for like.

State-dict keys: ``backbone.*``, ``projector.*``, ``predictor.*``,
``target.backbone.*``, ``target.projector.*``.
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmsoco.models.utils.box_sets import MatchedRows
from mmsoco.models.utils.collapse import embedding_stats
from mmsoco.registry import MODELS
from .base import BaseMomentumModel


@MODELS.register_module()
class BYOL(BaseMomentumModel):
    """Image-level BYOL over the configured view pairs.

    BYOL (https://arxiv.org/abs/2006.07733), the image-level baseline of
    SoCo (https://arxiv.org/abs/2106.02637): docs/method.md section 4.1.
    Each view is one box covering the whole view.

    Args:
        backbone (dict): e.g. mmdet ``ResNet``; its last output is pooled.
        projector (dict): ``ProjectionMLP`` config (in_channels = the last
            stage's channels).
        predictor (dict): ``ProjectionMLP`` config.
        **kwargs: :class:`BaseMomentumModel` arguments.
    """

    def __init__(self, backbone: dict, projector: dict, predictor: dict,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.backbone = MODELS.build(backbone)
        self.projector = MODELS.build(projector)
        self.predictor = MODELS.build(predictor)
        self._init_target(['backbone', 'projector'])

    @staticmethod
    def _embed(net, img: Tensor) -> Tensor:
        feat = net['backbone'](img)[-1]
        return net['projector'](F.adaptive_avg_pool2d(feat, 1).flatten(1))

    def loss(self,
             inputs: List[Tensor],
             data_samples: Optional[list] = None) -> Dict[str, Tensor]:
        """Symmetric image-level loss over the view pairs."""
        pairs = self.view_pairs(data_samples, len(inputs))
        views = sorted({v for pair in pairs for v in pair})
        online = self._online_parts()
        online_projs = {v: self._embed(online, inputs[v]) for v in views}
        preds = {v: self.predictor(z) for v, z in online_projs.items()}
        with torch.no_grad():
            projs = {v: self._embed(self.target, inputs[v]) for v in views}
        batch = inputs[0].size(0)
        rows = torch.arange(batch, device=inputs[0].device)
        one_per_image = MatchedRows(rows, rows, rows)
        losses = {}
        for a, b in pairs:
            losses.update(
                self.symmetric_pair_losses(a, b, preds[a], projs[a], preds[b],
                                           projs[b], one_per_image, batch))
        # Collapse read-outs of the online projections.
        losses.update(
            embedding_stats(
                torch.cat([online_projs[v] for v in views]),
                rows.repeat(len(views))))
        return losses

    def extract_feat(self,
                     inputs: List[Tensor],
                     data_samples: Optional[list] = None) -> List[Tensor]:
        """Online projections of each view."""
        online = self._online_parts()
        return [self._embed(online, img) for img in inputs]

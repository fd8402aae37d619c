"""SoCo's (and BYOL's) regression loss between matched embeddings (SOCO_SPEC section 4).

Per directed view pair (a -> b): ``offset - 2 * mean cos(pred_online(a),
proj_target(b))`` over the matched box pairs. The reference logs ``-2 * cos``
(``offset=0``); the default ``offset=2`` is BYOL's ``2 - 2 cos`` (= the squared
distance of the normalised vectors), which is 0 at the optimum and has the same
gradient.
"""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmsoco.registry import MODELS


def cosine_regression_loss(pred: Tensor, target: Tensor,
                           offset: float = 2.0) -> Tensor:
    """``offset - 2 * mean_i cos(pred_i, target_i)`` of (n, d) rows.

    With no rows the loss is a zero that stays in ``pred``'s graph, so every
    rank of a distributed run back-propagates through the same parameters.
    """
    if pred.size(0) == 0:
        return pred.sum() * 0.
    cos = (F.normalize(pred.float(), dim=1) *
           F.normalize(target.float(), dim=1)).sum(dim=1)
    return offset - 2 * cos.mean()


@MODELS.register_module()
class CosineSimilarityLoss(nn.Module):
    """Negative cosine similarity of predictions to (detached) targets.

    Args:
        offset (float): Added constant; 2.0 gives ``2 - 2 cos`` (minimum 0),
            0.0 the reference's ``-2 cos``. Defaults to 2.0.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
    """

    def __init__(self, offset: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.offset = offset
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * cosine_regression_loss(
            pred, target.detach(), self.offset)

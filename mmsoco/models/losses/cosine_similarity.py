"""SoCo's (and BYOL's) regression loss between matched embeddings
(docs/method.md section 4.1).

Per directed view pair (a -> b), as the reference computes it: for each image,
the mean cosine between the online predictions of view a and the target
projections of view b over that image's matched box pairs
(``sum(cos * corr) / (sum(corr) + eps)``), then the mean over ALL images of
the batch (an image with no matched pair adds 0), times -2. The reference
logs ``-2 * cos`` (``offset=0``); the default ``offset=2`` gives BYOL's
``2 - 2 cos``, 0 at the optimum, the same gradient.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmsoco.registry import MODELS


def cosine_regression_loss(pred: Tensor,
                           target: Tensor,
                           image_index: Optional[Tensor] = None,
                           num_images: Optional[int] = None,
                           offset: float = 2.0,
                           eps: float = 1e-6) -> Tensor:
    """``offset - 2 * mean_images(sum cos / (count + eps))`` of (m, d) rows.

    Args:
        pred, target (Tensor): (m, d) matched rows.
        image_index (Tensor, optional): (m,) image of each row; None: every
            row its own image.
        num_images (int, optional): images in the batch (the mean's
            denominator). Defaults to ``image_index.max() + 1``.

    With no rows the loss is ``offset`` plus a zero that stays in ``pred``'s
    graph, so every rank of a distributed run back-propagates through the
    same parameters.
    """
    if image_index is None:
        image_index = torch.arange(pred.size(0), device=pred.device)
    if num_images is None:
        num_images = int(image_index.max()) + 1 if image_index.numel() else 1
    cos = (F.normalize(pred.float(), dim=1) *
           F.normalize(target.float(), dim=1)).sum(dim=1)
    sums = cos.new_zeros(num_images).index_add(0, image_index, cos)
    counts = cos.new_zeros(num_images).index_add(0, image_index,
                                                 torch.ones_like(cos))
    per_image = sums / (counts + eps)
    return offset - 2 * per_image.mean() + pred.sum() * 0.


@MODELS.register_module()
class CosineSimilarityLoss(nn.Module):
    """Negative cosine similarity of predictions to (detached) targets,
    normalised per image.

    SoCo (https://arxiv.org/abs/2106.02637), the loss: docs/method.md
    section 4.1.

    Args:
        offset (float): Added constant; 2.0 gives ``2 - 2 cos`` (minimum 0),
            0.0 the reference's ``-2 cos``. Defaults to 2.0.
        eps (float): Added to each image's match count, as the reference.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 offset: float = 2.0,
                 eps: float = 1e-6,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.offset = offset
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                image_index: Optional[Tensor] = None,
                num_images: Optional[int] = None) -> Tensor:
        return self.loss_weight * cosine_regression_loss(
            pred, target.detach(), image_index, num_images, self.offset,
            self.eps)

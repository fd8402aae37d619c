"""Collapse read-outs of an embedding batch, logged beside the loss.

SoCo (https://arxiv.org/abs/2106.02637) and BYOL have no negatives: a model
can lower the loss by mapping every box to the same vector (representation
collapse). The loss alone does not show it early; two statistics of the
projections do:

- ``proj_std``: the mean over dimensions of the per-dimension standard
  deviation of the L2-normalised rows. 0 when every row is the same vector;
  about ``1 / sqrt(d)`` for rows spread evenly over the sphere in ``d``
  dimensions (SimSiam, https://arxiv.org/abs/2011.10566, section 4.1).
- ``cross_image_cos``: the mean cosine similarity between embeddings of
  *different* images (boxes of the same image are excluded, they may well
  look alike). Near 1 when collapsed, near 0 when healthy.

Both are read-outs only: computed without gradient, never part of the loss.
"""
from typing import Dict

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def embedding_stats(z: Tensor, image_index: Tensor) -> Dict[str, Tensor]:
    """Collapse statistics of a batch of embeddings.

    Args:
        z (Tensor): (n, d) embeddings (e.g. projector outputs), one row per
            box (SoCo) or per image (BYOL).
        image_index (Tensor): (n,) the image each row comes from (for SoCo
            the batch index, column 0 of the RoIs).

    Returns:
        dict[str, Tensor]: ``proj_std`` and ``cross_image_cos``, 0-d float
        tensors on ``z``'s device, detached. ``proj_std`` is NaN for fewer
        than 2 rows and ``cross_image_cos`` is NaN when all rows come from
        one image (nothing to compare), rather than a made-up value.
    """
    if z.dim() != 2:
        raise ValueError(f'z must be (n, d), got shape {tuple(z.shape)}')
    image_index = torch.as_tensor(image_index, device=z.device).view(-1)
    if image_index.numel() != z.size(0):
        raise ValueError(f'image_index has {image_index.numel()} entries '
                         f'for {z.size(0)} rows of z')
    unit = F.normalize(z.detach().float(), dim=1)
    nan = torch.tensor(float('nan'), device=z.device)
    proj_std = unit.std(dim=0).mean() if unit.size(0) > 1 else nan
    # Mean of u_a . u_b over row pairs of different images without the
    # (n, n) matrix: ||sum u||^2 minus each image's ||sum of its u||^2
    # leaves exactly the cross-image pairs (O(n d) at any batch size).
    _, image = torch.unique(image_index, return_inverse=True)
    per_image = unit.new_zeros(
        int(image.max()) + 1 if image.numel() else 0,
        unit.size(1)).index_add_(0, image, unit)
    counts = torch.bincount(image).float()
    pairs = counts.sum()**2 - (counts**2).sum()
    if pairs > 0:
        cross_image_cos = (unit.sum(0).pow(2).sum() -
                           per_image.pow(2).sum()) / pairs
    else:
        cross_image_cos = nan
    return dict(proj_std=proj_std, cross_image_cos=cross_image_cos)

"""Batching SoCo's box sets and finding the rows a view pair compares
(docs/method.md sections 3.3 and 4.1).

A box set is one view's boxes for one view pair, over the whole batch: the
unit the reference runs through head, projector and predictor (once per FPN
level). These pure functions turn the per-sample tensors of
:class:`~mmsoco.structures.SoCoDataSample` into batch rows and back:

- :func:`stack_box_set`: the set's RoIs ``[image, x1, y1, x2, y2]`` and the
  first row of each image;
- :func:`matched_rows`: for a pair, which rows of its two sets are compared,
  and which image each comparison belongs to (the loss normalises per image).
"""
from typing import NamedTuple, Sequence

import torch
from torch import Tensor


class BoxSet(NamedTuple):
    """One view's boxes for one view pair, stacked over the batch.

    Attributes:
        rois (Tensor): (n, 5) ``[image index, x1, y1, x2, y2]``.
        first_row (Tensor): (B,) row of each image's first box.
    """
    rois: Tensor
    first_row: Tensor


class MatchedRows(NamedTuple):
    """The compared rows of a view pair's two box sets.

    Attributes:
        first (Tensor): (m,) rows of the pair's first set.
        second (Tensor): (m,) rows of its second set.
        image (Tensor): (m,) image index of each comparison.
    """
    first: Tensor
    second: Tensor
    image: Tensor


def stack_box_set(boxes: Sequence[Tensor], device=None) -> BoxSet:
    """Stack per-image (k_i, 4) boxes into one set's RoIs."""
    device = device if device is not None else boxes[0].device
    boxes = [
        b.to(device=device, dtype=torch.float32).view(-1, 4) for b in boxes
    ]
    counts = torch.tensor([len(b) for b in boxes], device=device)
    image = torch.repeat_interleave(
        torch.arange(len(boxes), device=device), counts)
    rois = torch.cat([image[:, None].float(), torch.cat(boxes)], dim=1)
    return BoxSet(rois=rois, first_row=torch.cumsum(counts, 0) - counts)


def matched_rows(matches: Sequence[Tensor], first: BoxSet, second: BoxSet,
                 first_kept: Tensor, second_kept: Tensor) -> MatchedRows:
    """Rows of ``first`` and ``second`` that each matched box pair uses.

    Args:
        matches (Sequence[Tensor]): per image, (m_i, 2) rows (i, j): box i of
            the image's first set and box j of its second set match.
        first, second (BoxSet): the pair's two box sets.
        first_kept, second_kept (Tensor): (n,) bool, boxes with a feature
            level; a match with a box without one is left out (the
            reference's correspondence matrix has no row for it).

    Raises:
        IndexError: a match points outside its image's boxes.
    """
    device = first.rois.device
    pairs = [
        torch.as_tensor(m, device=device).long().view(-1, 2) for m in matches
    ]
    image = torch.repeat_interleave(
        torch.arange(len(pairs), device=device),
        torch.tensor([len(p) for p in pairs], device=device))
    pairs = torch.cat(pairs)
    # One bounds check for the whole batch (a single device sync), then the
    # first offending image is named.
    for col, box_set, side in ((0, first, 'first'), (1, second, 'second')):
        count = _counts(box_set)[image]
        bad = (pairs[:, col] < 0) | (pairs[:, col] >= count)
        if bad.any():
            k = int(bad.nonzero()[0, 0])
            raise IndexError(
                f'image {int(image[k])}: a match points outside the '
                f"{int(count[k])} boxes of the pair's {side} set")
    rows_first = pairs[:, 0] + first.first_row[image]
    rows_second = pairs[:, 1] + second.first_row[image]
    kept = first_kept[rows_first] & second_kept[rows_second]
    return MatchedRows(rows_first[kept], rows_second[kept], image[kept])


def _counts(box_set: BoxSet) -> Tensor:
    ends = torch.cat([
        box_set.first_row[1:],
        box_set.first_row.new_tensor([box_set.rois.size(0)])
    ])
    return ends - box_set.first_row

"""Per-image annotations of a SoCo sample: box sets per view pair and their matches.

The contract between the data pipeline (``PackSoCoInputs``) and the model
(``SoCo``), written down once (docs/method.md, section 2):

data fields
    pair_bboxes : list[list[Tensor]]  one entry per contrasted view pair p:
        ``[boxes_first, boxes_second]``, the box sets of views
        ``view_pairs[p][0]`` and ``view_pairs[p][1]``, each a (K, 4) float32
        tensor, x1y1x2y2 in that view's pixels (after crop, resize and flip).
        A view in several pairs (V1) has one box set per pair: each set is
        one batch of the reference's forward pass.
    pair_proposal_ids : list[list[Tensor]]  the (K,) int64 selective-search
        proposal id of every box of ``pair_bboxes`` (-1: the whole-view box
        used when a pair has no common proposal).
    pair_matches : list[Tensor]  one (M_p, 2) int64 tensor per pair; row
        (i, j): box i of the first set and box j of the second carry the same
        proposal id (a positive). Every same-id pair is listed, so a padding
        duplicate matches each copy of its proposal on the other side.
    cutout_squares : list[Tensor]  one (n_v, 4) int64 tensor per view,
        x1y1x2y2 (end exclusive) view-pixel squares that the data
        preprocessor fills with 0 after normalisation (empty: no cutout).
metainfo
    view_pairs : list[tuple[int, int]]  which views are contrasted, e.g.
        [(0, 1), (0, 2)] for SoCo R50-FPN.
    img_path, ori_shape, view_shapes (list of (h, w)), flips (list of bool),
    crops (list of x1, y1, x2, y2 crop windows in source-image pixels).
"""
from mmengine.structures import BaseDataElement


class SoCoDataSample(BaseDataElement):
    """Box sets of every view pair of one image and which boxes are positives."""

    @property
    def num_pairs(self) -> int:
        return len(self.pair_bboxes)

"""Per-image annotations of a SoCo sample: boxes per view and the matched box pairs.

The contract between the data pipeline (``PackSoCoInputs``) and the model
(``SoCo``), written down once:

data fields
    bboxes : list[Tensor]  one (N_v, 4) float32 tensor per view, x1y1x2y2 in that
        view's pixels (after crop, resize and flip).
    proposal_ids : list[Tensor]  one (N_v,) int64 tensor per view; the id of the
        selective-search proposal each box came from (stable per image).
    pair_matches : list[Tensor]  one (M_p, 2) int64 tensor per contrasted view
        pair p; row (i, j) says box i of view ``view_pairs[p][0]`` and box j of
        view ``view_pairs[p][1]`` are the same object (a positive pair). Both
        boxes of a row always share a proposal id.
metainfo
    view_pairs : list[tuple[int, int]]  which views are contrasted, e.g.
        [(0, 1), (0, 2)] for SoCo R50-FPN.
    img_path, ori_shape, view_shapes (list of (h, w)), flips (list of bool),
    crops (list of x1, y1, x2, y2 crop windows in source-image pixels).
"""
from mmengine.structures import BaseDataElement


class SoCoDataSample(BaseDataElement):
    """Boxes of every view of one image and which of them form positive pairs."""

    @property
    def num_views(self) -> int:
        return len(self.bboxes)

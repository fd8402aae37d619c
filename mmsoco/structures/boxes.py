"""Box geometry of SoCo's views and RoI levels (docs/method.md sections 2 and 3).

The one place where box geometry lives.

Every function here is pure: no randomness is drawn inside (random draws are
passed in), no state is kept. The pipeline (``MultiViewBoxJitter``) and the
model (``ScaleAwareRoIExtractor``) call these and never re-derive them.

Conventions
    A box is ``(x1, y1, x2, y2)`` in continuous pixel coordinates: pixel ``i``
    covers ``[i, i + 1)``, so a proposal whose last pixel column is ``max_x``
    has ``x2 = max_x + 1`` and width ``x2 - x1``. A crop window is a box of the
    same kind with integer corners. Under this convention a crop-and-resize
    (``cv2.resize`` with half-pixel centres) maps edges by one affine map and a
    horizontal flip of a ``W``-wide image maps ``x`` to ``W - x``.

Most functions take numpy arrays; ``box_area``, ``box_iou``,
``assign_boxes_to_levels`` and ``map_roi_levels_mmdet`` also take torch
tensors and return the same kind.
"""
import math
from typing import Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Upper bounds of sqrt(w * h) (view pixels) for P2, P3, P4 and P5 (docs/method.md section 3.2).
SOCO_LEVEL_RANGES = (48, 96, 192, 224)


def _is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def box_widths_heights(boxes: ArrayLike) -> Tuple[ArrayLike, ArrayLike]:
    """Return (w, h) of (N, 4) boxes; negative extents are kept as they are."""
    return boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]


def box_area(boxes: ArrayLike) -> ArrayLike:
    """Area of (N, 4) boxes; empty or inverted boxes have area 0."""
    w, h = box_widths_heights(boxes)
    if _is_tensor(boxes):
        return w.clamp(min=0) * h.clamp(min=0)
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def box_iou(boxes_a: ArrayLike, boxes_b: ArrayLike) -> ArrayLike:
    """Pairwise IoU of (N, 4) and (M, 4) boxes -> (N, M).

    Pairs whose union is empty (two empty boxes) get IoU 0.
    """
    if _is_tensor(boxes_a):
        boxes_b = torch.as_tensor(
            boxes_b, dtype=boxes_a.dtype, device=boxes_a.device)
        lt = torch.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
        rb = torch.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        union = box_area(boxes_a)[:, None] + box_area(boxes_b)[None] - inter
        return torch.where(union > 0, inter / union.clamp(min=1e-12),
                           torch.zeros_like(inter))
    boxes_a = np.asarray(boxes_a, dtype=np.float64)
    boxes_b = np.asarray(boxes_b, dtype=np.float64)
    lt = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    rb = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(boxes_a)[:, None] + box_area(boxes_b)[None] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return iou


def whole_box(width: float, height: float) -> np.ndarray:
    """The (1, 4) float32 box covering a whole ``width`` x ``height`` image."""
    return np.array([[0, 0, width, height]], dtype=np.float32)


def intersect_windows(win_a: Sequence[float],
                      win_b: Sequence[float]) -> Tuple[float, ...]:
    """The intersection of two windows (may be empty: x2 <= x1)."""
    return (max(win_a[0], win_b[0]), max(win_a[1], win_b[1]),
            min(win_a[2], win_b[2]), min(win_a[3], win_b[3]))


def candidate_mask(boxes: np.ndarray, window_a: Sequence[float],
                   window_b: Sequence[float]) -> np.ndarray:
    """Bool mask of the proposals that are candidates for a view pair.

    The reference's rule (docs/method.md section 2.2), on its own
    coordinates: a proposal is a candidate when it and the common window of
    the two crop windows overlap with strict inequalities in inclusive pixel
    coordinates, and no proposal is when the common window itself fails that
    test. The reference holds a proposal whose last pixel column is
    ``max_x`` as ending at ``max_x - 1`` inclusive (``x2 = x + w - 1`` with
    ``w = max_x - min_x``), i.e. at ``x2 - 2`` in this module's convention
    (``x2 = max_x + 1``), and a window ``[x1, x2)`` as ending at ``x2 - 1``.
    So a box overlapping the common window by 1 or 2 columns (rows) on its
    right (bottom) edge, or by 1 on its left (top) edge, is not a candidate
    (a plain positive-area test would take these slivers).
    """
    cx1, cy1, cx2, cy2 = intersect_windows(window_a, window_b)
    last_x, last_y = cx2 - 1, cy2 - 1  # the common window, inclusive
    if not (cx1 < last_x and cy1 < last_y):
        return np.zeros(len(boxes), dtype=bool)
    box_last_x, box_last_y = boxes[:, 2] - 2, boxes[:, 3] - 2
    return ((cx1 < box_last_x) & (boxes[:, 0] < last_x)
            & (cy1 < box_last_y) & (boxes[:, 1] < last_y))


def clip_to_window(boxes: np.ndarray,
                   window: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Intersect boxes with ``window``.

    Returns:
        (clipped boxes in the same frame, keep mask of boxes that overlap the
        window with positive area). Boxes outside keep a degenerate clipped
        value; callers select with the mask.
    """
    x1, y1, x2, y2 = window
    low = np.array([x1, y1, x1, y1], dtype=boxes.dtype)
    high = np.array([x2, y2, x2, y2], dtype=boxes.dtype)
    clipped = np.minimum(np.maximum(boxes, low), high)
    keep = ((np.minimum(boxes[:, 2], x2) > np.maximum(boxes[:, 0], x1))
            & (np.minimum(boxes[:, 3], y2) > np.maximum(boxes[:, 1], y1)))
    return clipped, keep


def map_to_view(boxes: np.ndarray, crop: Sequence[float],
                view_size: Tuple[int, int]) -> np.ndarray:
    """Map source-image boxes into a view made by cropping then resizing.

    Args:
        boxes: (N, 4) boxes in source pixels (already clipped to ``crop``).
        crop: the crop window (x1, y1, x2, y2) in source pixels.
        view_size: (width, height) of the view after resizing the crop.
    """
    cx1, cy1, cx2, cy2 = crop
    out_w, out_h = view_size
    scale = np.array(
        [out_w / (cx2 - cx1), out_h / (cy2 - cy1)] * 2, dtype=np.float64)
    offset = np.array([cx1, cy1, cx1, cy1], dtype=np.float64)
    return ((boxes - offset) * scale).astype(np.float32)


def resize_boxes(boxes: np.ndarray, src_size: Tuple[int, int],
                 dst_size: Tuple[int, int]) -> np.ndarray:
    """Scale boxes of a ``src_size`` (w, h) image to a resized ``dst_size``."""
    return map_to_view(boxes, (0, 0, src_size[0], src_size[1]), dst_size)


def flip_horizontal(boxes: np.ndarray, width: float) -> np.ndarray:
    """Mirror boxes of a ``width``-wide image left-right: x -> width - x."""
    flipped = boxes.copy()
    flipped[:, 0] = width - boxes[:, 2]
    flipped[:, 2] = width - boxes[:, 0]
    return flipped


def jitter_boxes(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """SoCo's box jitter with given draws ``offsets`` = (N, 4) u values.

    x1' = x1 + u0 * w, y1' = y1 + u1 * h, w' = w * (1 + u2), h' = h * (1 + u3)
    (docs/method.md section 2.3); rows of ``offsets`` that are zero leave their box unchanged.
    """
    w, h = box_widths_heights(boxes)
    x1 = boxes[:, 0] + offsets[:, 0] * w
    y1 = boxes[:, 1] + offsets[:, 1] * h
    new_w = w * (1 + offsets[:, 2])
    new_h = h * (1 + offsets[:, 3])
    return np.stack([x1, y1, x1 + new_w, y1 + new_h],
                    axis=1).astype(boxes.dtype)


def random_resized_crop_window(
        width: int,
        height: int,
        scale: Tuple[float, float],
        ratio: Tuple[float, float],
        uniform,
        randint,
        num_attempts: int = 10) -> Tuple[int, int, int, int]:
    """A crop window drawn with torchvision's ``RandomResizedCrop`` rule.

    Up to ``num_attempts`` draws of an area fraction ``U(scale)`` and a
    log-uniform aspect ratio (w / h) in ``ratio``; the first that fits is
    placed uniformly. If none fits: the centre crop of the whole image with the
    aspect ratio clamped into ``ratio``.

    Args:
        uniform, randint: the random source, ``np.random.uniform`` and
            ``np.random.randint`` signatures (passed in so this stays pure).

    Returns:
        (x1, y1, x2, y2) integer window in source pixels.
    """
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(num_attempts):
        target_area = area * uniform(scale[0], scale[1])
        aspect = math.exp(uniform(log_ratio[0], log_ratio[1]))
        crop_w = int(round(math.sqrt(target_area * aspect)))
        crop_h = int(round(math.sqrt(target_area / aspect)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            y1 = int(randint(0, height - crop_h + 1))
            x1 = int(randint(0, width - crop_w + 1))
            return x1, y1, x1 + crop_w, y1 + crop_h
    in_ratio = width / height
    if in_ratio < min(ratio):
        crop_w = width
        crop_h = int(round(crop_w / min(ratio)))
    elif in_ratio > max(ratio):
        crop_h = height
        crop_w = int(round(crop_h * max(ratio)))
    else:
        crop_w, crop_h = width, height
    y1 = (height - crop_h) // 2
    x1 = (width - crop_w) // 2
    return x1, y1, x1 + crop_w, y1 + crop_h


def assign_boxes_to_levels(
        boxes: ArrayLike,
        ranges: Sequence[float] = SOCO_LEVEL_RANGES) -> ArrayLike:
    """SoCo's scale-aware level of each box (docs/method.md section 3.2), -1 when unassigned.

    With s = sqrt(w * h) in view pixels, the level is the first ``i`` with
    ``s <= ranges[i]`` (P2 = 0, ..., P5 = 3 for the default ranges); boxes
    larger than ``ranges[-1]`` get -1.

    Returns:
        int64 levels, (N,), numpy or torch like ``boxes``.
    """
    if _is_tensor(boxes):
        scale = box_area(boxes).sqrt()
        bounds = torch.as_tensor(
            ranges, dtype=scale.dtype, device=scale.device)
        levels = torch.bucketize(scale, bounds, right=False)
        return torch.where(levels >= len(ranges), torch.full_like(levels, -1),
                           levels).long()
    scale = np.sqrt(box_area(np.asarray(boxes, dtype=np.float64)))
    levels = np.searchsorted(
        np.asarray(ranges, dtype=np.float64), scale, side='left')
    return np.where(levels >= len(ranges), -1, levels).astype(np.int64)


def feature_map_scale(view_hw: Tuple[int, int],
                      feat_hw: Tuple[int, int]) -> Tuple[float, float]:
    """(x, y) factors from view pixels to the pixels of a feature map of it.

    The map's real size over the view's size, per axis: the reference puts a
    box on a level as ``box / view size * feature size`` (docs/method.md
    section 3.3). For a 224-px view that is 1 / stride on every level (P5 is
    7 x 7: 7 / 224 = 1/32); a 112-px view is halved five times with every
    stride-2 layer rounding up (112, 56, 28, 14, 7, 4), so its P5 is 4 x 4
    and its factor 4 / 112 = 1/28, not 1/32.

    Args:
        view_hw: (height, width) of the view (the network's input).
        feat_hw: (height, width) of the feature map.
    """
    return feat_hw[1] / view_hw[1], feat_hw[0] / view_hw[0]


def rois_to_feature_pixels(rois: torch.Tensor,
                           scale_xy: Tuple[float, float]) -> torch.Tensor:
    """(n, 5) ``[image, x1, y1, x2, y2]`` RoIs with x scaled by ``scale_xy[0]``
    and y by ``scale_xy[1]`` (:func:`feature_map_scale`); the image index
    is kept."""
    scale_x, scale_y = scale_xy
    return rois * rois.new_tensor([1., scale_x, scale_y, scale_x, scale_y])


def map_roi_levels_mmdet(boxes: ArrayLike,
                         num_levels: int = 4,
                         finest_scale: float = 56) -> ArrayLike:
    """MMDetection's ``SingleRoIExtractor.map_roi_levels``; all assigned.

    level = floor(log2(sqrt(w * h) / finest_scale + 1e-6)), clamped to
    ``[0, num_levels - 1]``: for the default, P2 below 112, P3 below 224,
    P4 below 448, P5 above (the FPN paper's rule). Use it to switch SoCo's
    scale-aware assignment off.
    """
    if _is_tensor(boxes):
        scale = box_area(boxes).sqrt()
        levels = torch.floor(torch.log2(scale / finest_scale + 1e-6))
        return levels.clamp(min=0, max=num_levels - 1).long()
    scale = np.sqrt(box_area(np.asarray(boxes, dtype=np.float64)))
    with np.errstate(divide='ignore'):
        levels = np.floor(np.log2(scale / finest_scale + 1e-6))
    return np.clip(levels, 0, num_levels - 1).astype(np.int64)


def match_same_ids(ids_first: np.ndarray,
                   ids_second: np.ndarray) -> np.ndarray:
    """Every (i, j) with ``ids_first[i] == ids_second[j]`` -> (M, 2) int64.

    Rows in row-major order of the (len(first), len(second)) equality
    matrix (the reference's correspondence matrix, listed): an id present
    ``m`` times in the first set and ``n`` times in the second gives
    ``m * n`` rows.
    """
    ids_first = np.asarray(ids_first).reshape(-1)
    ids_second = np.asarray(ids_second).reshape(-1)
    rows, cols = np.nonzero(ids_first[:, None] == ids_second[None, :])
    return np.stack([rows, cols], axis=1).astype(np.int64)


def pad_indices_from_common(ids: np.ndarray, common_ids: np.ndarray,
                            num_boxes: int, choice) -> np.ndarray:
    """Indices that pad one view's box set to ``num_boxes`` rows.

    The set's own boxes come first, in order; the missing rows are drawn
    with replacement among the set's boxes whose id is in ``common_ids``
    (the ids both views of the pair hold). A set already ``num_boxes`` long
    or longer is returned as it is.

    Args:
        ids: (N,) proposal ids of the set.
        common_ids: ids present in both views of the pair (non-empty
            whenever padding is needed).
        choice: ``np.random.choice``'s signature (the random source).
    """
    own = np.arange(len(ids), dtype=np.int64)
    missing = num_boxes - len(ids)
    if missing <= 0:
        return own
    pool = np.flatnonzero(np.isin(ids, common_ids))
    if len(pool) == 0:
        raise ValueError('cannot pad a box set without a common proposal')
    return np.concatenate([own, pool[choice(len(pool), missing)]])


def cutout_square(box: Sequence[float], side: int, centre: Tuple[int, int],
                  image_wh: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """The pixel square SoCo's cutout blanks for one box (docs/method.md section 2.3).

    The square is centred on pixel ``centre`` = (cx, cy) and spans pixels
    ``c - side // 2`` to ``c + side // 2`` inclusive (``2 * (side // 2) + 1``
    pixels, as the reference), clipped to the image only: it may spill out
    of ``box`` (which only gave the centre and the side).

    Returns:
        (x1, y1, x2, y2) int pixels, end exclusive; empty if it misses the
        image.
    """
    half = int(side) // 2
    width, height = image_wh
    cx, cy = int(centre[0]), int(centre[1])
    x1, y1 = max(cx - half, 0), max(cy - half, 0)
    x2, y2 = min(cx + half + 1, width), min(cy + half + 1, height)
    return x1, y1, max(x2, x1), max(y2, y1)


def box_pixel_span(low: float, high: float) -> Tuple[int, int]:
    """First and last pixel index (inclusive) a [low, high) extent covers."""
    first = int(math.floor(low))
    last = max(first, int(math.ceil(high)) - 1)
    return first, last

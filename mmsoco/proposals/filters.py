"""Proposal filters of SoCo (docs/method.md section 1.1): named, composable keep-rules.

A *rule* is a pure function ``rule(boxes, image_size) -> bool keep mask`` over
(N, 4) ``x1, y1, x2, y2`` boxes (exclusive ``x2``/``y2``) of an image of
``image_size = (W, H)``. Rules compose with :func:`all_of`; :data:`RULES` names
them and :data:`FALLBACK_CHAINS` names the reference's ``...post`` fallbacks.

Box width convention. The reference stores ``w = max_x - min_x`` (one less
than the pixel extent) and applies its thresholds to that value. To select
exactly the boxes it selects, the size rules here measure
``w = x2 - x1 - 1`` and ``h = y2 - y1 - 1`` (:func:`reference_wh`), so a
box must span at least 33 pixels to pass ``w >= 32``.
"""
from typing import Callable, Dict, Sequence, Tuple

import numpy as np

from mmsoco.structures.boxes import whole_box

__all__ = [
    'reference_wh', 'min_side_rule', 'aspect_ratio_rule', 'relative_size_rule',
    'all_of', 'RULES', 'FALLBACK_CHAINS', 'FALLBACK_LEVELS', 'dedup_boxes',
    'filter_with_fallback'
]

Rule = Callable[[np.ndarray, Tuple[int, int]], np.ndarray]

#: ``fallback_level`` values, from "the rule itself kept something" onwards.
FALLBACK_LEVELS = ('none', 'ratio', 'min_size', 'whole_image')


def reference_wh(boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The reference's (w, h) = (max_x - min_x, max_y - min_y) as float64."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes[:, 2] - boxes[:, 0] - 1, boxes[:, 3] - boxes[:, 1] - 1


def min_side_rule(min_side: float = 32) -> Rule:
    """Keep boxes with ``w >= min_side and h >= min_side``."""

    def rule(boxes, image_size):
        w, h = reference_wh(boxes)
        return (w >= min_side) & (h >= min_side)

    return rule


def aspect_ratio_rule(max_ratio: float = 3) -> Rule:
    """Keep boxes with ``1 / max_ratio <= w / h <= max_ratio`` (w, h > 0)."""

    def rule(boxes, image_size):
        w, h = reference_wh(boxes)
        positive = (w > 0) & (h > 0)
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = w / h
        return positive & (ratio >= 1 / max_ratio) & (ratio <= max_ratio)

    return rule


def relative_size_rule(low: float = 0.3, high: float = 0.8) -> Rule:
    """Keep boxes with ``low <= sqrt(w * h) / sqrt(W * H) <= high``."""

    def rule(boxes, image_size):
        w, h = reference_wh(boxes)
        img_w, img_h = image_size
        rel = np.sqrt(np.clip(w * h, 0, None)) / np.sqrt(float(img_w) * img_h)
        return (w >= 0) & (h >= 0) & (rel >= low) & (rel <= high)

    return rule


def all_of(*rules: Rule) -> Rule:
    """A rule keeping the boxes that every one of ``rules`` keeps."""

    def rule(boxes, image_size):
        keep = np.ones(len(boxes), dtype=bool)
        for sub_rule in rules:
            keep &= sub_rule(boxes, image_size)
        return keep

    return rule


#: Named rules. ``ratio3size0308`` is the filter behind all SoCo results.
RULES: Dict[str, Rule] = {
    'ratio3size0308':
    all_of(
        min_side_rule(32), aspect_ratio_rule(3), relative_size_rule(0.3, 0.8)),
    'ratio3':
    aspect_ratio_rule(3),
    # The reference's ``filter_ratio(r=3)``: the size floor is part of it.
    'min_side32_ratio3':
    all_of(min_side_rule(32), aspect_ratio_rule(3)),
    'min_side32':
    min_side_rule(32),
}

#: Fallbacks tried, in order, when a rule leaves an image without boxes
#: (the reference's ``ratio3size0308post``: its ``filter_ratio(r=3)``, which
#: keeps w >= 32 and h >= 32 and 1/3 <= w/h <= 3, then ``filter_none``,
#: w >= 32 and h >= 32): (fallback level, rule name). If all of them leave
#: nothing, the whole image is the single proposal.
FALLBACK_CHAINS: Dict[str, Sequence[Tuple[str, str]]] = {
    'ratio3size0308':
    (('ratio', 'min_side32_ratio3'), ('min_size', 'min_side32')),
}


def dedup_boxes(boxes: np.ndarray) -> np.ndarray:
    """Drop repeated boxes, keeping first occurrences in their order."""
    if len(boxes) == 0:
        return boxes
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)]


def filter_with_fallback(boxes: np.ndarray,
                         image_size: Tuple[int, int],
                         rule: str = 'ratio3size0308',
                         fallback: bool = True) -> Tuple[np.ndarray, str]:
    """Apply a named rule, then its fallback chain if nothing survives.

    Args:
        boxes: (N, 4) float32 boxes of the image.
        image_size: (W, H) of the image the boxes live in.
        rule: a key of :data:`RULES`, or None to keep every box.
        fallback: follow :data:`FALLBACK_CHAINS` (then the whole image) when
            the rule keeps nothing; if False an empty result stays empty.

    Returns:
        (kept boxes, fallback level from :data:`FALLBACK_LEVELS`).
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if rule is None:
        return boxes, 'none'
    if rule not in RULES:
        raise KeyError(f'unknown proposal filter {rule!r}; known: '
                       f'{sorted(RULES)}')
    kept = boxes[RULES[rule](boxes, image_size)]
    if len(kept) or not fallback:
        return kept, 'none'
    for level, fallback_rule in FALLBACK_CHAINS.get(rule, ()):
        kept = boxes[RULES[fallback_rule](boxes, image_size)]
        if len(kept):
            return kept, level
    return whole_box(*image_size), 'whole_image'

"""Per-image proposal computation of SoCo (``docs/method.md`` section 1.1): search, then filter.

:func:`compute_proposals` is the one entry point that the proposal-generation
tool and the ``SelectiveSearchProposals`` transform call. Its signature and
:class:`ProposalResult` are a stable contract.
"""
from typing import NamedTuple, Optional

import cv2
import numpy as np

from mmsoco.structures.boxes import resize_boxes
from .filters import dedup_boxes, filter_with_fallback
from .selective_search import selective_search

__all__ = [
    'ProposalResult', 'compute_proposals', 'search_size', 'proposals_of_image',
    'RECOMMENDED_MAX_SIDE', 'MIN_SEARCH_SIDE'
]

#: Suggested ``max_side`` for bulk proposal generation (see
#: benchmarks/README.md: >= 10x faster than the reference at native size with
#: no loss of filtered-proposal recall on demo-like data).
RECOMMENDED_MAX_SIDE = 320


class ProposalResult(NamedTuple):
    """Filtered proposals of one image.

    Attributes:
        boxes: float32 (N, 4) ``x1, y1, x2, y2`` in original-image pixels,
            exclusive ``x2``/``y2``.
        fallback_level: ``'none'`` (the rule kept boxes, or no rule/fallback),
            ``'ratio'``, ``'min_size'`` or ``'whole_image'``: which step of
            the fallback chain produced ``boxes``.
        num_raw: number of selective-search boxes before filtering (after
            de-duplication when ``dedup=True``).
    """
    boxes: np.ndarray
    fallback_level: str
    num_raw: int


def search_size(width: int, height: int, max_side: Optional[int]):
    """(w, h) to run the search at: longer side capped at ``max_side``.

    Images are only ever shrunk; ``None`` keeps the native size.
    """
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return (max(1,
                int(round(width * scale))), max(1, int(round(height * scale))))


def compute_proposals(img_rgb: np.ndarray,
                      max_side: Optional[int] = None,
                      rule: Optional[str] = 'ratio3size0308',
                      fallback: bool = True,
                      dedup: bool = True,
                      color_mode: str = 'reference',
                      **ss_kwargs) -> ProposalResult:
    """Selective-search proposals of one image, filtered as SoCo filters them.

    Args:
        img_rgb: RGB uint8 (H, W, 3) image.
        max_side: if set, the image is shrunk (area interpolation) so that
            its longer side is at most ``max_side`` before the search, and the
            boxes are mapped back to original pixels (rounded to whole
            pixels). ``None`` searches at native size, as the reference did.
        rule: filter name from ``mmsoco.proposals.filters.RULES`` or None.
        fallback: use the rule's fallback chain when it keeps nothing.
        dedup: remove repeated boxes (the reference kept them).
        color_mode: colour histogram of the search, ``'reference'`` or
            ``'hsv'`` (see :func:`selective_search`).
        **ss_kwargs: ``scale``, ``sigma``, ``min_size`` of the search
            (defaults are SoCo's 300, 0.9, 100).

    Returns:
        :class:`ProposalResult`.
    """
    if not isinstance(img_rgb, np.ndarray) or img_rgb.ndim != 3 \
            or img_rgb.shape[2] != 3 or img_rgb.dtype != np.uint8:
        raise ValueError('compute_proposals expects an RGB uint8 HxWx3 array, '
                         f'got {getattr(img_rgb, "dtype", type(img_rgb))} '
                         f'{getattr(img_rgb, "shape", "")}')
    height, width = img_rgb.shape[:2]
    search_w, search_h = search_size(width, height, max_side)
    if (search_w, search_h) == (width, height):
        boxes = selective_search(
            img_rgb, color_mode=color_mode, dedup=dedup, **ss_kwargs)
    else:
        small = cv2.resize(
            img_rgb, (search_w, search_h), interpolation=cv2.INTER_AREA)
        boxes = selective_search(
            small, color_mode=color_mode, dedup=dedup, **ss_kwargs)
        boxes = resize_boxes(boxes, (search_w, search_h), (width, height))
        # whole pixels, as at native size; inside the image
        boxes = np.round(boxes)
        np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
        if dedup:
            boxes = dedup_boxes(boxes)
    boxes = boxes.astype(np.float32)
    kept, level = filter_with_fallback(boxes, (width, height), rule, fallback)
    return ProposalResult(kept.astype(np.float32), level, len(boxes))


#: Selective search needs at least this many pixels per side.
MIN_SEARCH_SIDE = 2

#: Generation parameters that concern decoding, not the search.
DECODE_PARAMS = ('max_pixels', 'exif_orientation')


def proposals_of_image(img_rgb: np.ndarray, params: dict):
    """``compute_proposals`` of an RGB image, with the whole-image fallback
    for images too small to search (e.g. 1x1).

    ``params`` are ``compute_proposals`` keyword arguments (the decoding
    ones, :data:`DECODE_PARAMS`, are ignored). Returns its ``ProposalResult``.
    """
    kwargs = {k: v for k, v in params.items() if k not in DECODE_PARAMS}
    height, width = img_rgb.shape[:2]
    if min(height, width) < MIN_SEARCH_SIDE and kwargs.get('fallback', True):
        from mmsoco.structures.boxes import whole_box
        return ProposalResult(whole_box(width, height), 'whole_image', 0)
    return compute_proposals(img_rgb, **kwargs)

"""Selective search, fast and faithful to the reference (``docs/method.md`` section 1.1).

SoCo's objects are the boxes of selective search as implemented by the PyPI
package ``selectivesearch`` 0.4 (with the reference's texture-range fix:
texture histograms binned over (0, 255)), run with ``scale=300, sigma=0.9,
min_size=100``. :func:`selective_search` reproduces that algorithm stage by
stage -- Felzenszwalb segmentation, LBP texture, colour/texture histograms,
bounding-box "neighbours" and greedy grouping with the reference's
tie-breaking -- in compiled code (see ``_ss_segment`` and ``_ss_grouping``).

Colour histograms (``color_mode``):

* ``'reference'`` (default) reproduces the reference quirk: it converts 0-255
  RGB *floats* to HSV, so H and S lie in [0, 1] while all three channels are
  binned over (0, 255). H and S therefore always fall into their first bin
  and only V = max(R, G, B) shapes the colour similarity.
* ``'hsv'`` bins properly scaled H, S and V (each over [0, 1], 25 bins),
  i.e. the colour similarity that the original paper describes.
"""
from functools import lru_cache

import numpy as np
import skimage.color
import skimage.util

from ._ss_grouping import hierarchical_grouping, region_features
from ._ss_segment import felzenszwalb_labels, lbp_codes

__all__ = ['selective_search', 'selective_search_regions', 'COLOR_MODES']

#: Colour histogram variants accepted by :func:`selective_search`.
COLOR_MODES = ('reference', 'hsv')

# Histogram sizes of the reference implementation.
_COLOUR_BINS = 25
_TEXTURE_BINS = 10


@lru_cache(maxsize=None)
def _integer_bin_lut(n_bins: int, lo: float, hi: float) -> np.ndarray:
    """Bin of each integer value 0..255 exactly as ``np.histogram`` puts it.

    Both V (a max of integer RGB values) and LBP codes are integers, so a
    256-entry table asked of numpy itself reproduces its edge handling.
    """
    lut = np.empty(256, np.int64)
    for value in range(256):
        counts = np.histogram(np.array([float(value)]), n_bins, (lo, hi))[0]
        lut[value] = int(np.argmax(counts))
    return lut


def _colour_bins(img: np.ndarray, color_mode: str) -> np.ndarray:
    """(H, W, 3) colour-histogram bin index per pixel and HSV channel."""
    if color_mode == 'reference':
        bins = np.zeros(img.shape, np.int64)  # H and S: always bin 0
        value = img.max(axis=2)
        bins[:, :, 2] = _integer_bin_lut(_COLOUR_BINS, 0.0, 255.0)[value]
        return bins
    hsv = skimage.color.rgb2hsv(img)  # uint8 in -> H, S, V in [0, 1]
    return np.minimum((hsv * _COLOUR_BINS).astype(np.int64), _COLOUR_BINS - 1)


def _check_image(img) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError('selective_search expects an RGB HxWx3 array, got '
                         f'{getattr(img, "shape", type(img))}')
    if img.dtype != np.uint8:
        raise ValueError(
            f'selective_search expects uint8 pixels, got {img.dtype}')
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f'image too small for selective search: {img.shape}')
    return np.ascontiguousarray(img)


def selective_search_regions(img: np.ndarray,
                             scale: float = 300,
                             sigma: float = 0.9,
                             min_size: int = 100,
                             color_mode: str = 'reference') -> np.ndarray:
    """All regions of the grouping hierarchy, as the reference returns them.

    Returns:
        int64 (R, 4) ``(min_x, min_y, max_x, max_y)`` (inclusive pixel
        extents), initial segments first, then merged regions in merge order;
        duplicates are kept (the reference's ``regions`` list).
    """
    img = _check_image(img)
    if color_mode not in COLOR_MODES:
        raise ValueError(f'color_mode must be one of {COLOR_MODES}, '
                         f'got {color_mode!r}')
    labels = felzenszwalb_labels(
        skimage.util.img_as_float(img), scale, sigma, min_size)
    texture = lbp_codes(img)
    texture_bins = _integer_bin_lut(_TEXTURE_BINS, 0.0, 255.0)[texture]
    boxes, sizes, hist_c, hist_t = region_features(
        labels, _colour_bins(img, color_mode), _COLOUR_BINS, texture_bins,
        _TEXTURE_BINS)
    return hierarchical_grouping(boxes, sizes, hist_c, hist_t,
                                 img.shape[0] * img.shape[1])


def selective_search(img: np.ndarray,
                     scale: float = 300,
                     sigma: float = 0.9,
                     min_size: int = 100,
                     color_mode: str = 'reference',
                     dedup: bool = True) -> np.ndarray:
    """Selective-search boxes of an RGB image.

    Args:
        img: RGB uint8 (H, W, 3) array.
        scale, sigma, min_size: Felzenszwalb parameters (SoCo: 300, 0.9, 100).
        color_mode: ``'reference'`` (default, reproduces the reference) or
            ``'hsv'`` (corrected colour histograms), see the module docstring.
        dedup: drop repeated boxes, keeping first occurrences in the
            reference's region order (about half of the reference's regions
            repeat a box).

    Returns:
        float32 (N, 4) boxes ``x1, y1, x2, y2`` in pixels with exclusive
        ``x2 = max_x + 1``, ``y2 = max_y + 1``.
    """
    regions = selective_search_regions(img, scale, sigma, min_size, color_mode)
    boxes = regions.astype(np.float32)
    boxes[:, 2:] += 1
    if dedup:
        _, first = np.unique(regions, axis=0, return_index=True)
        boxes = boxes[np.sort(first)]
    return boxes

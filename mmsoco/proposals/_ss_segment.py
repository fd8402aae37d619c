"""Low-level stages of selective search (``docs/method.md`` section 1.1): segmentation and texture.

Compiled (numba) re-implementations of the two scikit-image stages the reference
``selectivesearch`` package spends most of its non-grouping time in:

* :func:`felzenszwalb_labels` -- Felzenszwalb & Huttenlocher graph segmentation,
  label-for-label identical to ``skimage.segmentation.felzenszwalb`` on RGB input;
* :func:`lbp_codes` -- the 8-neighbour, radius-1 ``'default'`` local binary pattern,
  code-for-code identical to ``skimage.feature.local_binary_pattern(img, 8, 1.0)``.

Identity (not just similarity) is what makes the downstream grouping reproduce the
reference, so every floating-point step is done in the same order and precision as
skimage does it: smoothing is the same scipy filter, edge costs repeat numpy's
summation order bit for bit, the edge order comes from the same ``np.argsort``
call (it is unstable, so equal-cost edges must keep numpy's tie order), the merge
threshold is rounded to float32 like skimage's ``cdef float``, and the bilinear
sampling of LBP follows skimage's formula term by term.
"""
import numba
import numpy as np
from scipy import ndimage as ndi

__all__ = ['felzenszwalb_labels', 'lbp_codes']


@numba.njit(cache=True, inline='always')
def _distance(image, r0, c0, r1, c1):
    """Colour distance of pixels (r0, c0) - (r1, c1), summed like numpy.

    ``np.sum(d * d, axis=-1)`` over 3 channels adds ``(d0 + d1) + d2``.
    """
    d0 = image[r0, c0, 0] - image[r1, c1, 0]
    d1 = image[r0, c0, 1] - image[r1, c1, 1]
    d2 = image[r0, c0, 2] - image[r1, c1, 2]
    return np.sqrt((d0 * d0 + d1 * d1) + d2 * d2)


@numba.njit(cache=True)
def _edge_costs(image):
    """8-connectivity edge weights, laid out exactly as skimage lays them out.

    Order: all right edges, then down, down-right, up-right; each block in
    row-major order of its first pixel. The arithmetic mirrors skimage's numpy
    expressions so the values (and hence ties) are bit-identical.
    """
    h, w = image.shape[0], image.shape[1]
    costs = np.empty(h * (w - 1) + (h - 1) * w + 2 * (h - 1) * (w - 1))
    k = 0
    for r in range(h):
        for c in range(w - 1):
            costs[k] = _distance(image, r, c + 1, r, c)
            k += 1
    for r in range(h - 1):
        for c in range(w):
            costs[k] = _distance(image, r + 1, c, r, c)
            k += 1
    for r in range(h - 1):
        for c in range(w - 1):
            costs[k] = _distance(image, r + 1, c + 1, r, c)
            k += 1
    for r in range(h - 1):
        for c in range(w - 1):
            costs[k] = _distance(image, r + 1, c, r, c + 1)
            k += 1
    return costs


@numba.njit(cache=True)
def _edge_endpoints(h, w):
    """Pixel indices (a, b) of every edge, in the layout of :func:`_edge_costs`."""
    n_edges = h * (w - 1) + (h - 1) * w + 2 * (h - 1) * (w - 1)
    ends_a = np.empty(n_edges, np.int32)
    ends_b = np.empty(n_edges, np.int32)
    k = 0
    for r in range(h):
        for c in range(w - 1):
            ends_a[k], ends_b[k] = r * w + c + 1, r * w + c
            k += 1
    for r in range(h - 1):
        for c in range(w):
            ends_a[k], ends_b[k] = (r + 1) * w + c, r * w + c
            k += 1
    for r in range(h - 1):
        for c in range(w - 1):
            ends_a[k], ends_b[k] = (r + 1) * w + c + 1, r * w + c
            k += 1
    for r in range(h - 1):
        for c in range(w - 1):
            ends_a[k], ends_b[k] = r * w + c + 1, (r + 1) * w + c
            k += 1
    return ends_a, ends_b


@numba.njit(cache=True, inline='always')
def _find(parent, n):
    root = n
    while parent[root] != root:
        root = parent[root]
    # path compression keeps later finds short; it never changes the root
    while parent[n] != root:
        nxt = parent[n]
        parent[n] = root
        n = nxt
    return root


@numba.njit(cache=True, inline='always')
def _union(parent, size, s0, s1):
    """Join two roots under the smaller index, as skimage's ``join_trees``."""
    root, child = (s0, s1) if s0 < s1 else (s1, s0)
    parent[child] = root
    size[root] = size[s0] + size[s1]
    return root


@numba.njit(cache=True)
def _segment(order, costs, h, w, scale, min_size):
    """Greedy merging over sorted edges, then the small-segment pass.

    A merged component's root is its smallest pixel index (as in skimage's
    ``join_trees``), so numbering roots in raster order gives skimage's labels.
    """
    n_pixels = h * w
    n_edges = order.shape[0]
    all_a, all_b = _edge_endpoints(h, w)
    # edges in processing order, contiguous for the two passes below
    ends_a = np.empty(n_edges, np.int32)
    ends_b = np.empty(n_edges, np.int32)
    sorted_costs = np.empty(n_edges)
    for k in range(n_edges):
        e = order[k]
        ends_a[k], ends_b[k], sorted_costs[k] = all_a[e], all_b[e], costs[e]
    parent = np.arange(n_pixels).astype(np.int32)
    size = np.ones(n_pixels, np.int32)
    cint = np.zeros(n_pixels)
    for k in range(n_edges):
        s0 = _find(parent, ends_a[k])
        s1 = _find(parent, ends_b[k])
        if s0 == s1:
            continue
        # skimage stores these thresholds in C floats: round to float32 likewise
        inner0 = np.float32(cint[s0] + scale / size[s0])
        inner1 = np.float32(cint[s1] + scale / size[s1])
        if sorted_costs[k] < np.float64(min(inner0, inner1)):
            cint[_union(parent, size, s0, s1)] = sorted_costs[k]
    for k in range(n_edges):
        s0 = _find(parent, ends_a[k])
        s1 = _find(parent, ends_b[k])
        if s0 != s1 and (size[s0] < min_size or size[s1] < min_size):
            _union(parent, size, s0, s1)
    labels = np.empty(n_pixels, np.int64)
    next_label = 0
    for p in range(n_pixels):
        root = _find(parent, p)
        if root == p:
            labels[p] = next_label
            next_label += 1
        else:
            labels[p] = labels[root]
    return labels.reshape(h, w)


def felzenszwalb_labels(image01: np.ndarray, scale: float, sigma: float,
                        min_size: int) -> np.ndarray:
    """Felzenszwalb segmentation identical to ``skimage.segmentation.felzenszwalb``.

    Args:
        image01: float64 (H, W, 3) image in [0, 1] (``skimage.util.img_as_float``).
        scale, sigma, min_size: as in skimage.

    Returns:
        int64 (H, W) labels numbered 0.. in raster order of first appearance.
    """
    image = np.ascontiguousarray(image01, dtype=np.float64)
    h, w = image.shape[:2]
    image = ndi.gaussian_filter(
        image, sigma=[sigma, sigma, 0], mode='reflect', truncate=4.0)
    costs = _edge_costs(image)
    order = np.argsort(costs)  # numpy's own (unstable) order, ties included
    return _segment(order, costs, h, w, float(scale) / 255., min_size)


@numba.njit(cache=True, inline='always')
def _pixel_or_zero(image, r, c):
    if r < 0 or r >= image.shape[0] or c < 0 or c >= image.shape[1]:
        return 0.0
    return image[r, c]


@numba.njit(cache=True)
def _lbp_channel(image, rp, cp, out):
    rows, cols = image.shape
    n_points = rp.shape[0]
    for r in range(rows):
        for c in range(cols):
            centre = image[r, c]
            code = 0
            for i in range(n_points):
                # skimage's bilinear_interpolation, same operation order
                pr = r + rp[i]
                pc = c + cp[i]
                minr = int(np.floor(pr))
                minc = int(np.floor(pc))
                maxr = int(np.ceil(pr))
                maxc = int(np.ceil(pc))
                dr = pr - minr
                dc = pc - minc
                top = ((1 - dc) * _pixel_or_zero(image, minr, minc) +
                       dc * _pixel_or_zero(image, minr, maxc))
                bottom = ((1 - dc) * _pixel_or_zero(image, maxr, minc) +
                          dc * _pixel_or_zero(image, maxr, maxc))
                value = (1 - dr) * top + dr * bottom
                if value - centre >= 0:
                    code += 1 << i
            out[r, c] = code


def lbp_codes(image: np.ndarray,
              n_points: int = 8,
              radius: float = 1.0) -> np.ndarray:
    """Per-channel default-method LBP codes, identical to skimage's.

    Args:
        image: (H, W, C) array; each channel is treated as a float64 grey image.

    Returns:
        uint8 (H, W, C) codes (``n_points <= 8``).
    """
    assert n_points <= 8, 'codes are stored as uint8'
    angles = 2 * np.pi * np.arange(n_points, dtype=np.double) / n_points
    # skimage rounds the sampling offsets to 5 decimals
    rp = np.round(-radius * np.sin(angles), 5)
    cp = np.round(radius * np.cos(angles), 5)
    out = np.empty(image.shape, np.uint8)
    for ch in range(image.shape[2]):
        plane = np.ascontiguousarray(image[:, :, ch], dtype=np.float64)
        out_ch = np.empty(plane.shape, np.uint8)
        _lbp_channel(plane, rp, cp, out_ch)
        out[:, :, ch] = out_ch
    return out

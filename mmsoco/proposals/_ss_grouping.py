"""Hierarchical grouping of selective search (``docs/method.md`` section 1.1), compiled.

Re-implements the grouping loop of the reference ``selectivesearch`` package
(v0.4) so that it merges the same regions in the same order:

* regions are the Felzenszwalb segments, in label order (= the reference's dict
  order, which is raster order of first appearance);
* a region's colour / texture histograms are L1-normalised bin counts; a merged
  region's histograms are the size-weighted means (same float expression);
* the "neighbour" pairs are the reference's bounding-box corner test (not pixel
  adjacency): pair (a, b), a before b, when a corner of b lies strictly inside
  a's box;
* similarity = colour + texture + size + fill, each histogram intersection
  summed bin by bin left to right, so the floating-point value is bit-identical;
* the reference picks ``sorted(S.items(), key=value)[-1]``: the highest
  similarity and, among equal values, the pair inserted into ``S`` last. Pairs
  are kept here in that insertion order and the scan keeps the last maximum.

Only the per-pixel bin indices are inputs, so the colour-space choice (the
reference's quirky HSV binning or a corrected one) stays with the caller.
"""
import numba
import numpy as np

__all__ = ['region_features', 'hierarchical_grouping']


@numba.njit(cache=True)
def region_features(labels, colour_bins, n_colour_bins, texture_bins,
                    n_texture_bins):
    """Per-segment boxes, sizes and normalised histograms in one pixel pass.

    Args:
        labels: int64 (H, W) segment labels 0..L-1.
        colour_bins: (H, W, C) int bin index per pixel and colour channel.
        texture_bins: (H, W, C) int bin index per pixel and texture channel.

    Returns:
        boxes (L, 4) int64 (min_x, min_y, max_x, max_y), sizes (L,) int64,
        colour hist (L, C * n_colour_bins), texture hist (L, C * n_texture_bins).
    """
    h, w = labels.shape
    n = labels.max() + 1
    n_ch_c = colour_bins.shape[2]
    n_ch_t = texture_bins.shape[2]
    boxes = np.empty((n, 4), np.int64)
    boxes[:, 0] = 0xffff
    boxes[:, 1] = 0xffff
    boxes[:, 2] = 0
    boxes[:, 3] = 0
    sizes = np.zeros(n, np.int64)
    hist_c = np.zeros((n, n_ch_c * n_colour_bins))
    hist_t = np.zeros((n, n_ch_t * n_texture_bins))
    for y in range(h):
        for x in range(w):
            lab = labels[y, x]
            if x < boxes[lab, 0]:
                boxes[lab, 0] = x
            if y < boxes[lab, 1]:
                boxes[lab, 1] = y
            if x > boxes[lab, 2]:
                boxes[lab, 2] = x
            if y > boxes[lab, 3]:
                boxes[lab, 3] = y
            sizes[lab] += 1
            for ch in range(n_ch_c):
                hist_c[lab, ch * n_colour_bins + colour_bins[y, x, ch]] += 1.0
            for ch in range(n_ch_t):
                hist_t[lab,
                       ch * n_texture_bins + texture_bins[y, x, ch]] += 1.0
    for lab in range(n):
        hist_c[lab] /= sizes[lab]
        hist_t[lab] /= sizes[lab]
    return boxes, sizes, hist_c, hist_t


@numba.njit(cache=True, inline='always')
def _strictly_inside(v, lo, hi):
    return lo < v and v < hi


@numba.njit(cache=True)
def _corner_test(a, b):
    """The reference's ``intersect(a, b)``: a corner of b strictly inside a."""
    ax1, ay1, ax2, ay2 = a[0], a[1], a[2], a[3]
    bx1, by1, bx2, by2 = b[0], b[1], b[2], b[3]
    return (
        (_strictly_inside(bx1, ax1, ax2) and _strictly_inside(by1, ay1, ay2))
        or
        (_strictly_inside(bx2, ax1, ax2) and _strictly_inside(by2, ay1, ay2))
        or
        (_strictly_inside(bx1, ax1, ax2) and _strictly_inside(by2, ay1, ay2))
        or
        (_strictly_inside(bx2, ax1, ax2) and _strictly_inside(by1, ay1, ay2)))


@numba.njit(cache=True)
def _similarity(a, b, boxes, sizes, hist_c, hist_t, im_size):
    colour = 0.0
    for k in range(hist_c.shape[1]):
        colour += min(hist_c[a, k], hist_c[b, k])
    texture = 0.0
    for k in range(hist_t.shape[1]):
        texture += min(hist_t[a, k], hist_t[b, k])
    size = 1.0 - (sizes[a] + sizes[b]) / im_size
    bb_size = (
        (max(boxes[a, 2], boxes[b, 2]) - min(boxes[a, 0], boxes[b, 0])) *
        (max(boxes[a, 3], boxes[b, 3]) - min(boxes[a, 1], boxes[b, 1])))
    fill = 1.0 - (bb_size - sizes[a] - sizes[b]) / im_size
    return colour + texture + size + fill


@numba.njit(cache=True)
def hierarchical_grouping(boxes0, sizes0, hist_c0, hist_t0, im_size):
    """Greedy merging of the reference; returns every region's box.

    Returns:
        int64 (R, 4) (min_x, min_y, max_x, max_y) of the initial segments
        followed by each merged region in creation order (the reference's
        output order, duplicates included).
    """
    n0 = boxes0.shape[0]
    cap = 2 * n0
    boxes = np.empty((cap, 4), np.int64)
    boxes[:n0] = boxes0
    sizes = np.empty(cap, np.int64)
    sizes[:n0] = sizes0
    hist_c = np.empty((cap, hist_c0.shape[1]))
    hist_c[:n0] = hist_c0
    hist_t = np.empty((cap, hist_t0.shape[1]))
    hist_t[:n0] = hist_t0

    # similarity pairs in the reference dict's insertion order
    pair_cap = 1024
    pa = np.empty(pair_cap, np.int64)
    pb = np.empty(pair_cap, np.int64)
    ps = np.empty(pair_cap)
    n_pairs = 0
    for a in range(n0 - 1):
        for b in range(a + 1, n0):
            if _corner_test(boxes[a], boxes[b]):
                if n_pairs == pair_cap:
                    pair_cap *= 2
                    pa2 = np.empty(pair_cap, np.int64)
                    pb2 = np.empty(pair_cap, np.int64)
                    ps2 = np.empty(pair_cap)
                    pa2[:n_pairs] = pa[:n_pairs]
                    pb2[:n_pairs] = pb[:n_pairs]
                    ps2[:n_pairs] = ps[:n_pairs]
                    pa, pb, ps = pa2, pb2, ps2
                pa[n_pairs] = a
                pb[n_pairs] = b
                ps[n_pairs] = _similarity(a, b, boxes, sizes, hist_c, hist_t,
                                          im_size)
                n_pairs += 1

    n_regions = n0
    pending = np.zeros(cap, np.bool_)  # marks partners already re-queued
    partners = np.empty(cap, np.int64)
    while n_pairs > 0:
        best = 0
        for k in range(1, n_pairs):
            if ps[k] >= ps[best]:  # ties: the last inserted pair wins
                best = k
        i, j = pa[best], pb[best]
        t = n_regions
        n_regions += 1
        si, sj = sizes[i], sizes[j]
        new_size = si + sj
        boxes[t, 0] = min(boxes[i, 0], boxes[j, 0])
        boxes[t, 1] = min(boxes[i, 1], boxes[j, 1])
        boxes[t, 2] = max(boxes[i, 2], boxes[j, 2])
        boxes[t, 3] = max(boxes[i, 3], boxes[j, 3])
        sizes[t] = new_size
        for k in range(hist_c.shape[1]):
            hist_c[t, k] = (hist_c[i, k] * si + hist_c[j, k] * sj) / new_size
        for k in range(hist_t.shape[1]):
            hist_t[t, k] = (hist_t[i, k] * si + hist_t[j, k] * sj) / new_size

        # drop every pair touching i or j (stable compaction), remembering
        # the partners in the order the reference re-inserts them
        n_partners = 0
        kept = 0
        for k in range(n_pairs):
            a, b = pa[k], pb[k]
            if a == i or a == j or b == i or b == j:
                if not ((a == i and b == j)):
                    other = b if (a == i or a == j) else a
                    if not pending[other]:
                        pending[other] = True
                        partners[n_partners] = other
                        n_partners += 1
                continue
            pa[kept] = a
            pb[kept] = b
            ps[kept] = ps[k]
            kept += 1
        n_pairs = kept
        if n_pairs + n_partners > pair_cap:
            pair_cap = 2 * (n_pairs + n_partners)
            pa2 = np.empty(pair_cap, np.int64)
            pb2 = np.empty(pair_cap, np.int64)
            ps2 = np.empty(pair_cap)
            pa2[:n_pairs] = pa[:n_pairs]
            pb2[:n_pairs] = pb[:n_pairs]
            ps2[:n_pairs] = ps[:n_pairs]
            pa, pb, ps = pa2, pb2, ps2
        for k in range(n_partners):
            other = partners[k]
            pending[other] = False
            pa[n_pairs] = t
            pb[n_pairs] = other
            ps[n_pairs] = _similarity(t, other, boxes, sizes, hist_c, hist_t,
                                      im_size)
            n_pairs += 1
    return boxes[:n_regions].copy()

"""Selective search: stage-by-stage identity and box parity with the reference."""
import warnings

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.data
import skimage.feature
import skimage.segmentation
import skimage.util

from mmsoco.proposals import selective_search
from mmsoco.proposals._ss_segment import felzenszwalb_labels, lbp_codes
from mmsoco.proposals.selective_search import (_colour_bins,
                                               selective_search_regions)
from mmsoco.structures.boxes import box_iou
from ss_reference import reference_selective_search

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


def _photo(name, long_side=300):
    img = getattr(skimage.data, name)()
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    return cv2.resize(
        img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _demo_like(seed=0, width=320, height=240):
    """Textured rectangles and ellipses on a noisy gradient background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = (
        rng.uniform(40, 200, 3) + 0.1 * xx[..., None] +
        rng.normal(0, 8, (height, width, 1)))
    for k in range(4):
        mask = np.zeros((height, width), np.uint8)
        x1, y1 = int(rng.integers(0, width - 80)), int(
            rng.integers(0, height - 60))
        x2, y2 = x1 + int(rng.integers(30, 80)), y1 + int(rng.integers(30, 60))
        if k % 2:
            mask[y1:y2, x1:x2] = 1
        else:
            cv2.ellipse(mask, ((x1 + x2) // 2, (y1 + y2) // 2),
                        ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, 1, -1)
        tex = rng.normal(0, 15, (height, width, 1))
        img = np.where(mask[..., None] > 0, rng.uniform(0, 255, 3) + tex, img)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module', params=PHOTOS + ('demo0', 'demo1'))
def image(request):
    if request.param.startswith('demo'):
        return _demo_like(int(request.param[-1]))
    return _photo(request.param)


def test_felzenszwalb_and_lbp_identical_to_skimage(image):
    float_img = skimage.util.img_as_float(image)
    expected = skimage.segmentation.felzenszwalb(
        float_img, scale=300, sigma=0.9, min_size=100)
    np.testing.assert_array_equal(
        felzenszwalb_labels(float_img, 300, 0.9, 100), expected)
    planes = image.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # skimage warns on float input
        expected_lbp = np.stack([
            skimage.feature.local_binary_pattern(planes[:, :, c], 8, 1.0)
            for c in range(3)
        ],
                                axis=-1)
    np.testing.assert_array_equal(lbp_codes(planes), expected_lbp)


def test_reference_colour_histogram_quirk():
    """Only V shapes the reference colour histogram; ours bins it alike."""
    from selectivesearch import selectivesearch as ref_module
    img = _photo('coffee', 120)
    hsv = skimage.color.rgb2hsv(img.astype(np.float64))  # 0-255 floats
    expected = ref_module._calc_colour_hist(hsv.reshape(-1, 3))
    bins = _colour_bins(img, 'reference').reshape(-1, 3)
    ours = np.concatenate(
        [np.bincount(bins[:, c], minlength=25) for c in range(3)]) / len(bins)
    np.testing.assert_array_equal(ours, expected)
    assert ours[0] == 1 and ours[25] == 1  # H and S: everything in bin 0


def test_regions_match_reference(image):
    """Same regions, same order, duplicates included."""
    expected = reference_selective_search(image)
    np.testing.assert_array_equal(selective_search_regions(image), expected)


def test_unique_boxes_recall_both_ways(image):
    ref = reference_selective_search(image).astype(np.float32)
    ref[:, 2:] += 1  # exclusive x2 = max_x + 1
    ref = np.unique(ref, axis=0)
    ours = selective_search(image)
    assert ours.dtype == np.float32 and ours.shape[1] == 4
    assert len(np.unique(ours, axis=0)) == len(ours)  # de-duplicated
    iou = box_iou(ref, ours)
    assert (iou.max(1) >= 0.95).mean() >= 0.99
    assert (iou.max(0) >= 0.95).mean() >= 0.99


def test_box_convention_on_a_drawn_rectangle():
    img = np.full((120, 160, 3), 200, np.uint8)
    img[30:90, 40:120] = (20, 60, 180)  # columns 40..119, rows 30..89
    # no smoothing, so the segment is exactly the rectangle
    boxes = selective_search(img, sigma=0)
    assert [40, 30, 120, 90] in boxes.tolist()
    assert [0, 0, 160, 120] in boxes.tolist()


@pytest.mark.parametrize('shape', [(2, 2), (7, 5), (40, 3)])
def test_tiny_and_flat_images(shape):
    img = np.full(shape + (3, ), 77, np.uint8)
    np.testing.assert_array_equal(
        selective_search(img), [[0, 0, shape[1], shape[0]]])


def test_noise_matches_reference():
    img = np.random.default_rng(3).integers(
        0, 256, (50, 70, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        selective_search_regions(img), reference_selective_search(img))


def test_hsv_colour_mode_sees_hue():
    """Equal-V, different-hue halves: only the corrected histogram differs."""
    img = np.zeros((60, 80, 3), np.uint8)
    img[:, :40] = (200, 0, 0)
    img[:, 40:] = (0, 0, 200)
    ref_bins = _colour_bins(img, 'reference')
    hsv_bins = _colour_bins(img, 'hsv')
    assert (ref_bins[:, :40] == ref_bins[:, 40:]).all()
    assert (hsv_bins[:, :40, 0] != hsv_bins[:, 40:, 0]).all()
    boxes = selective_search(img, color_mode='hsv')
    assert [0, 0, 40, 60] in boxes.tolist()


@pytest.mark.parametrize('bad', [
    np.zeros((10, 10), np.uint8),
    np.zeros((10, 10, 4), np.uint8),
    np.zeros((10, 10, 3), np.float32),
    [[1, 2, 3]],
])
def test_bad_input_raises(bad):
    with pytest.raises(ValueError):
        selective_search(bad)


def test_unknown_colour_mode_raises():
    with pytest.raises(ValueError, match='color_mode'):
        selective_search(np.zeros((8, 8, 3), np.uint8), color_mode='lab')


def test_equal_similarities_break_ties_like_the_reference():
    """Two identical frame+centre structures give exactly equal similarities.

    The reference merges the pair it inserted last first (``sorted(...)[-1]``),
    so the right structure's merged box comes before the left one's.
    """
    img = np.empty((60, 150, 3), np.uint8)
    img[:] = (90, 160, 90)  # separators at x 0..9, 70..79, 140..149
    for x0 in (10, 80):
        img[:, x0:x0 + 60] = (200, 50, 50)  # frame
        img[20:40, x0 + 20:x0 + 40] = (30, 30, 120)  # centre
    regions = selective_search_regions(img, sigma=0)
    np.testing.assert_array_equal(regions,
                                  reference_selective_search(img, sigma=0))
    assert regions[-2:].tolist() == [[80, 0, 139, 59], [10, 0, 69, 59]]


def test_edge_costs_bit_identical_to_numpy_expression():
    """The compiled edge weights equal skimage's numpy expressions exactly."""
    from mmsoco.proposals._ss_segment import _edge_costs
    rng = np.random.default_rng(0)
    for scale in (1.0, 1e-3, 1e5):
        image = rng.random((23, 31, 3)) * scale
        h, w = image.shape[:2]
        parts = []
        for a, b in [
            ((slice(None), slice(1, None)), (slice(None), slice(0, w - 1))),
            ((slice(1, None), slice(None)), (slice(0, h - 1), slice(None))),
            ((slice(1, None), slice(1, None)), (slice(0,
                                                      h - 1), slice(0,
                                                                    w - 1))),
            ((slice(1, None), slice(0, w - 1)), (slice(0,
                                                       h - 1), slice(1, None)))
        ]:
            d = image[a] - image[b]
            parts.append(np.sqrt(np.sum(d * d, axis=-1)).ravel())
        np.testing.assert_array_equal(_edge_costs(image), np.hstack(parts))

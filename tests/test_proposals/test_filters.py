"""Proposal filters, fallback chain and compute_proposals."""
import math

import cv2
import numpy as np
import pytest

from mmsoco.proposals import compute_proposals, selective_search
from mmsoco.proposals.compute import search_size
from mmsoco.proposals.filters import (RULES, dedup_boxes, filter_with_fallback,
                                      reference_wh)


def _box(x, y, w, h):
    """Exclusive x1y1x2y2 of the reference's rect (x, y, w=max_x-min_x, h)."""
    return [x, y, x + w + 1, y + h + 1]


def _spec_ratio3size0308(x, y, w, h, img_w, img_h):
    """The spec's filter written on the reference's (x, y, w, h) rects."""
    return (w >= 32 and h >= 32 and 1 / 3 <= w / h <= 3
            and 0.3 <= math.sqrt(w * h) / math.sqrt(img_w * img_h) <= 0.8)


@pytest.mark.parametrize(
    'rect,image_size,keep',
    [
        ((0, 0, 60, 60), (200, 200), True),  # sqrt(3600) / 200 = 0.3: edge
        ((0, 0, 59, 59), (200, 200), False),  # just below 0.3
        ((5, 5, 160, 160), (200, 200), True),  # 0.8: on the edge
        ((5, 5, 161, 161), (200, 200), False),
        ((0, 0, 180, 60), (200, 200), True),  # w / h = 3
        ((0, 0, 181, 60), (200, 200), False),
        ((0, 0, 60, 180), (200, 200), True),
        ((0, 0, 60, 181), (200, 200), False),
        ((0, 0, 32, 96), (100, 100), True),  # w = 32 and ratio 1/3: both edges
        ((0, 0, 31, 90), (100, 100), False),  # w < 32 (ratio, size fine)
        ((0, 0, 32, 32), (100, 100), True),  # 32 px by the reference's w...
    ])
def test_ratio3size0308_hand_worked(rect, image_size, keep):
    boxes = np.array([_box(*rect)], np.float32)
    assert RULES['ratio3size0308'](boxes, image_size).tolist() == [keep]


def test_width_is_the_references_max_minus_min():
    # ...which is a 33-pixel-wide box in exclusive x2 coordinates
    keep = RULES['ratio3size0308'](np.array([[0, 0, 33, 33], [0, 0, 32, 33]],
                                            np.float32), (100, 100))
    assert keep.tolist() == [True, False]


def test_ratio3size0308_matches_spec_formula_on_random_rects():
    rng = np.random.default_rng(0)
    img_w, img_h = 500, 375
    rects = np.stack([
        rng.integers(0, 400, 2000),
        rng.integers(0, 300, 2000),
        rng.integers(0, 420, 2000),
        rng.integers(0, 360, 2000)
    ], 1)
    rects[:, 2:] = np.maximum(rects[:, 2:], 1)
    expected = [_spec_ratio3size0308(*r, img_w, img_h) for r in rects.tolist()]
    boxes = np.array([_box(*r) for r in rects.tolist()], np.float32)
    assert RULES['ratio3size0308'](boxes, (img_w, img_h)).tolist() == expected
    assert 100 < sum(expected) < 1900  # the sample exercises both outcomes


def test_reference_wh():
    w, h = reference_wh(np.array([[10, 20, 43, 30]], np.float32))
    assert w.tolist() == [32] and h.tolist() == [9]


def test_fallback_chain_levels():
    size = (400, 400)
    good = _box(0, 0, 200, 200)
    small_square = _box(0, 0, 40, 40)  # ratio ok, sides >= 32, 0.1 < 0.3
    tiny_square = _box(0, 0, 20, 20)  # ratio ok, sides < 32
    big_thin = _box(0, 0, 390, 40)  # ratio 9.75, sides >= 32
    tiny_thin = _box(0, 0, 30, 2)  # fails everything

    def run(*boxes, **kw):
        return filter_with_fallback(np.array(boxes, np.float32), size, **kw)

    kept, level = run(good, small_square, big_thin)
    assert level == 'none' and kept.tolist() == [good]
    kept, level = run(small_square, tiny_square, big_thin, tiny_thin)
    assert level == 'ratio' and kept.tolist() == [small_square]
    # step 1 is the reference's filter_ratio: the 20 px square fails its
    # w >= 32 and h >= 32 (an aspect-ratio-only step 1 would keep it)
    kept, level = run(tiny_square, big_thin, tiny_thin)
    assert level == 'min_size' and kept.tolist() == [big_thin]
    kept, level = run(big_thin, tiny_thin)
    assert level == 'min_size' and kept.tolist() == [big_thin]
    kept, level = run(tiny_square, tiny_thin)
    assert level == 'whole_image' and kept.tolist() == [[0, 0, 400, 400]]
    kept, level = run(tiny_thin)
    assert level == 'whole_image' and kept.tolist() == [[0, 0, 400, 400]]
    kept, level = filter_with_fallback(np.zeros((0, 4), np.float32), size)
    assert level == 'whole_image' and kept.dtype == np.float32
    kept, level = run(tiny_thin, fallback=False)
    assert level == 'none' and kept.shape == (0, 4)
    kept, level = run(tiny_thin, rule=None)
    assert level == 'none' and kept.tolist() == [tiny_thin]
    with pytest.raises(KeyError, match='ratio9'):
        run(good, rule='ratio9')


@pytest.mark.parametrize(
    'rect,keep',
    [
        ((0, 0, 32, 32), True),  # both sides on the 32 floor
        ((0, 0, 31, 40), False),  # w = 31
        ((0, 0, 40, 31), False),  # h = 31
        ((0, 0, 96, 32), True),  # w / h = 3: on the edge
        ((0, 0, 97, 32), False),  # w / h = 97 / 32 > 3
        ((0, 0, 32, 97), False),  # w / h < 1 / 3
        ((0, 0, 390, 390), True),  # no relative-size bound in this step
    ])
def test_fallback_step1_is_filter_ratio(rect, keep):
    boxes = np.array([_box(*rect)], np.float32)
    assert RULES['min_side32_ratio3'](boxes, (400, 400)).tolist() == [keep]


def test_dedup_keeps_first_occurrences_in_order():
    boxes = np.array(
        [[5, 5, 9, 9], [0, 0, 4, 4], [5, 5, 9, 9], [1, 1, 2, 2], [0, 0, 4, 4]],
        np.float32)
    assert dedup_boxes(boxes).tolist() == [[5, 5, 9, 9], [0, 0, 4, 4],
                                           [1, 1, 2, 2]]


def _scene():
    """400x300 image: a flat background and one 160x120 object."""
    img = np.full((300, 400, 3), (180, 170, 160), np.uint8)
    img[90:210, 120:280] = (30, 90, 200)  # x 120..279, y 90..209
    return img


def test_compute_proposals_native_is_search_then_filter():
    img = _scene()
    res = compute_proposals(img)
    boxes = selective_search(img)
    expected, level = filter_with_fallback(boxes, (400, 300))
    assert res.num_raw == len(boxes)
    assert res.fallback_level == level
    np.testing.assert_array_equal(res.boxes, expected)
    assert res.boxes.dtype == np.float32


def test_compute_proposals_max_side_maps_back_to_original_pixels():
    img = _scene()
    assert search_size(400, 300, 200) == (200, 150)
    assert search_size(400, 300, 500) == (400, 300)
    assert search_size(400, 300, None) == (400, 300)
    res = compute_proposals(img, max_side=200, rule=None, sigma=0)
    assert (res.boxes[:, 0::2] >= 0).all() and (res.boxes[:, 0::2]
                                                <= 400).all()
    assert (res.boxes[:, 1::2] >= 0).all() and (res.boxes[:, 1::2]
                                                <= 300).all()
    assert (res.boxes == np.round(res.boxes)).all()
    # at half size the object spans x 60..139, y 45..104: mapped back exactly
    assert [120, 90, 280, 210] in res.boxes.tolist()
    assert [0, 0, 400, 300] in res.boxes.tolist()
    filtered = compute_proposals(img, max_side=200, sigma=0)
    assert [120, 90, 280, 210] in filtered.boxes.tolist()


def test_compute_proposals_dedup_flag():
    img = cv2.resize(
        np.random.default_rng(1).integers(0, 256, (12, 16, 3), dtype=np.uint8),
        (160, 120),
        interpolation=cv2.INTER_NEAREST)
    raw = compute_proposals(img, rule=None, dedup=False)
    unique = compute_proposals(img, rule=None)
    assert raw.num_raw >= unique.num_raw
    assert len(np.unique(raw.boxes, axis=0)) == unique.num_raw


@pytest.mark.parametrize(
    'bad',
    [np.zeros((10, 10), np.uint8),
     np.zeros((10, 10, 3), np.float64), None])
def test_compute_proposals_bad_input(bad):
    with pytest.raises(ValueError, match='RGB uint8'):
        compute_proposals(bad)

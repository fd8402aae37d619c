"""Tests of the pure box geometry in ``mmsoco.structures.boxes``."""
import math

import numpy as np
import pytest
import torch

# yapf: disable
from mmsoco.structures.boxes import (assign_boxes_to_levels, box_area, box_iou,
                                     box_pixel_span, candidate_mask,
                                     clip_to_window, cutout_square,
                                     feature_map_scale, flip_horizontal,
                                     intersect_windows, jitter_boxes,
                                     map_roi_levels_mmdet, map_to_view,
                                     match_same_ids, pad_indices_from_common,
                                     random_resized_crop_window, resize_boxes,
                                     rois_to_feature_pixels, whole_box)

# yapf: enable


def test_area_and_iou_hand_worked():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [10, 10, 20, 20], [2, 2, 2, 8]],
                 dtype=np.float32)
    np.testing.assert_allclose(box_area(a), [100, 100])
    iou = box_iou(a, b)
    # [5,15]x[5,15] vs [0,10]^2: inter 25, union 175.
    expected = np.array([[1, 0, 0], [25 / 175, 25 / 175, 0]])
    np.testing.assert_allclose(iou, expected, rtol=1e-6)
    iou_t = box_iou(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(iou_t, torch.Tensor)
    np.testing.assert_allclose(iou_t.numpy(), expected, rtol=1e-6)
    # two empty boxes: IoU 0, not NaN
    empty = np.zeros((1, 4), dtype=np.float32)
    assert box_iou(empty, empty)[0, 0] == 0


def test_clip_and_overlap():
    boxes = np.array([[-5, -5, 5, 5], [20, 20, 30, 30], [10, 0, 12, 4]],
                     dtype=np.float32)
    clipped, keep = clip_to_window(boxes, (0, 0, 10, 10))
    # the third box only touches the window's edge: zero-area overlap, dropped
    assert keep.tolist() == [True, False, False]
    np.testing.assert_array_equal(clipped[0], [0, 0, 5, 5])
    # one column more: the third box overlaps it by a 1 x 4 area
    assert clip_to_window(boxes,
                          (0, 0, 11, 11))[1].tolist() == [True, False, True]


def test_intersect_windows_hand_worked():
    assert intersect_windows((0, 0, 10, 8), (4, 2, 20, 6)) == (4, 2, 10, 6)
    # disjoint windows: an empty intersection (x2 <= x1), not an error
    x1, y1, x2, y2 = intersect_windows((0, 0, 5, 5), (7, 1, 9, 3))
    assert x2 <= x1 and (y1, y2) == (1, 3)


@pytest.mark.parametrize(
    'box,is_candidate',
    [
        # Common window of (0, 0, 100, 100) and (40, 30, 140, 130): columns
        # 40..99, rows 30..99. The reference ends a proposal whose last
        # column is max_x at max_x - 1 (here: x2 - 2) and needs strict
        # overlap in inclusive coordinates.
        ((0, 50, 41, 80), False),  # last column 40: 1 column in common
        ((0, 50, 42, 80), False),  # last column 41: 2 columns, ends at 40
        ((0, 50, 43, 80), True),  # ends at 41 > 40
        ((99, 50, 150, 80), False),  # first column 99 = the window's last
        ((98, 50, 150, 80), True),
        ((50, 0, 80, 32), False),  # rows: last row 31, ends at 30
        ((50, 0, 80, 33), True),
        ((50, 99, 80, 140), False),
        ((50, 98, 80, 140), True),
        ((0, 0, 200, 200), True),  # covers everything
    ])
def test_candidate_mask_hand_worked(box, is_candidate):
    boxes = np.array([box], dtype=np.float32)
    mask = candidate_mask(boxes, (0, 0, 100, 100), (40, 30, 140, 130))
    assert mask.tolist() == [is_candidate]
    # a positive-area overlap with the common window takes every one
    assert clip_to_window(boxes, (40, 30, 100, 100))[1].tolist() == [True]


def test_candidate_mask_common_window_must_overlap_strictly():
    box = np.array([[0, 0, 200, 200]], dtype=np.float32)
    # windows sharing one column (99): the reference finds no common window
    assert candidate_mask(box, (0, 0, 100, 100),
                          (99, 0, 200, 100)).tolist() == [False]
    assert candidate_mask(box, (0, 0, 100, 100),
                          (98, 0, 200, 100)).tolist() == [True]


def _reference_candidates(rects, params_a, params_b):
    """The reference's rule, written from its description: proposals as
    JSON rects (x, y, w = max - min, h) become inclusive boxes
    (x, y, x + w - 1, y + h - 1); windows (top, left, height, width) end at
    left + width - 1; a strict-overlap test of the two windows gives the
    common window, a strict-overlap test of each box with it the
    candidates."""
    (ya, xa, ha, wa), (yb, xb, hb, wb) = params_a, params_b
    xa2, ya2, xb2, yb2 = xa + wa - 1, ya + ha - 1, xb + wb - 1, yb + hb - 1
    if not (xa < xb2 and xb < xa2 and ya < yb2 and yb < ya2):
        return [False] * len(rects)
    px1, py1 = max(xa, xb), max(ya, yb)
    px2, py2 = min(xa2, xb2), min(ya2, yb2)
    out = []
    for x, y, w, h in rects:
        bx1, by1, bx2, by2 = x, y, x + w - 1, y + h - 1
        out.append(px1 < bx2 and bx1 < px2 and py1 < by2 and by1 < py2)
    return out


def test_candidate_mask_is_the_references_rule():
    """Random proposals near random window edges: the reference's rule on
    its coordinates equals candidate_mask on this module's (a rect becomes
    (x, y, x + w + 1, y + h + 1), a window (left, top, left + width, top +
    height))."""
    rng = np.random.default_rng(0)
    differs_from_plain_overlap = 0
    for _ in range(200):
        params = []
        for _ in range(2):
            top, left = rng.integers(0, 60, 2)
            height, width = rng.integers(2, 80, 2)
            params.append((top, left, height, width))
        rects = np.concatenate(
            [rng.integers(0, 150, (30, 2)),
             rng.integers(0, 40, (30, 2))], 1)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:] + 1],
                               1).astype(np.float32)
        windows = [(left, top, left + width, top + height)
                   for top, left, height, width in params]
        ours = candidate_mask(boxes, *windows)
        expected = _reference_candidates(rects.tolist(), *params)
        assert ours.tolist() == expected
        plain = clip_to_window(boxes, intersect_windows(*windows))[1]
        differs_from_plain_overlap += int((plain != ours).sum())
    assert differs_from_plain_overlap > 0  # the edge cases were exercised


@pytest.mark.parametrize(
    'view_hw,feat_hw,scale',
    [
        ((224, 224), (7, 7), (1 / 32, 1 / 32)),  # P5 of a 224 view: 1/stride
        # 112 -> 56 -> 28 -> 14 -> 7 -> 4: P5 is 4 x 4
        ((112, 112), (4, 4), (1 / 28, 1 / 28)),
        ((112, 112), (28, 28), (1 / 4, 1 / 4)),  # its P2
        ((192, 192), (6, 6), (1 / 32, 1 / 32)),  # SoCo*'s V3
        ((56, 64), (2, 2), (2 / 64, 2 / 56)),  # (h, w) in, (x, y) out
    ])
def test_feature_map_scale_hand_worked(view_hw, feat_hw, scale):
    assert feature_map_scale(view_hw, feat_hw) == pytest.approx(scale)


def test_rois_to_feature_pixels_keeps_the_image_index():
    rois = torch.tensor([[1., 28., 14., 56., 112.]])
    out = rois_to_feature_pixels(rois, (1 / 28, 1 / 14))
    assert out.tolist() == [[1., 1., 1., 2., 8.]]


def test_map_to_view_crop_and_resize():
    # crop [100, 50) .. [300, 150) -> 100x50 view: scale 0.5 both ways
    box = np.array([[150, 60, 250, 100]], dtype=np.float32)
    out = map_to_view(box, (100, 50, 300, 150), (100, 50))
    np.testing.assert_allclose(out, [[25, 5, 75, 25]])
    # non-uniform scale: whole 500x375 image to 224x224
    out = resize_boxes(
        np.array([[0, 0, 500, 375]], np.float32), (500, 375), (224, 224))
    np.testing.assert_allclose(out, whole_box(224, 224))


def test_flip_is_involution_and_mirrors():
    box = np.array([[2, 3, 7, 9]], dtype=np.float32)
    flipped = flip_horizontal(box, 10)
    np.testing.assert_array_equal(flipped, [[3, 3, 8, 9]])
    np.testing.assert_array_equal(flip_horizontal(flipped, 10), box)


def test_jitter_formula():
    box = np.array([[10, 20, 30, 60]], dtype=np.float32)  # w=20, h=40
    u = np.array([[0.1, -0.1, 0.05, -0.05]])
    out = jitter_boxes(box, u)
    # x1 = 10 + 2, y1 = 20 - 4, w = 21, h = 38
    np.testing.assert_allclose(out, [[12, 16, 33, 54]], rtol=1e-6)
    np.testing.assert_array_equal(jitter_boxes(box, np.zeros((1, 4))), box)


class _Scripted:
    """A random source replaying given draws."""

    def __init__(self, uniforms, ints=()):
        self.uniforms = list(uniforms)
        self.ints = list(ints)

    def uniform(self, low, high):
        return self.uniforms.pop(0)

    def randint(self, low, high):
        value = self.ints.pop(0)
        assert low <= value < high
        return value


def test_random_resized_crop_first_fit():
    # area fraction 0.25 of 400x400, ratio 1 -> 200x200, placed at (y=10, x=30)
    rng = _Scripted([0.25, 0.0], [10, 30])
    window = random_resized_crop_window(400, 400, (0.08, 1), (3 / 4, 4 / 3),
                                        rng.uniform, rng.randint)
    assert window == (30, 10, 230, 210)


def test_random_resized_crop_fallback_centre():
    # every attempt too big (area 1.0, ratio 4/3 on a 100x300 tall image)
    draws = [1.0, math.log(4 / 3)] * 10
    rng = _Scripted(draws)
    window = random_resized_crop_window(100, 300, (0.08, 1), (3 / 4, 4 / 3),
                                        rng.uniform, rng.randint)
    # in_ratio 1/3 < 3/4: w = 100, h = round(100 / 0.75) = 133, centred
    assert window == (0, 83, 100, 216)


def test_random_resized_crop_always_inside():
    np.random.seed(0)
    for w, h in [(500, 375), (64, 480), (33, 17), (1, 1)]:
        for _ in range(50):
            x1, y1, x2, y2 = random_resized_crop_window(
                w, h, (0.5, 1.0), (3 / 4, 4 / 3), np.random.uniform,
                np.random.randint)
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h


def test_soco_levels_boundaries():
    sides = [1, 48, 48.5, 96, 97, 192, 193, 224, 224.01, 300]
    boxes = np.array([[0, 0, s, s] for s in sides], dtype=np.float64)
    expected = [0, 0, 1, 1, 2, 2, 3, 3, -1, -1]
    assert assign_boxes_to_levels(boxes).tolist() == expected
    levels_t = assign_boxes_to_levels(torch.tensor(boxes, dtype=torch.float32))
    assert levels_t.dtype == torch.int64
    assert levels_t.tolist() == expected
    # non-square: sqrt(24 * 96) = 48 -> P2
    assert assign_boxes_to_levels(np.array([[0, 0, 24, 96]])).tolist() == [0]


def test_mmdet_levels_match_mmdet():
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    extractor = SingleRoIExtractor(
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
        out_channels=8,
        featmap_strides=[4, 8, 16, 32])
    torch.manual_seed(0)
    xy = torch.rand(200, 2) * 100
    wh = torch.rand(200, 2) * 600 + 1
    boxes = torch.cat([xy, xy + wh], dim=1)
    rois = torch.cat([torch.zeros(200, 1), boxes], dim=1)
    expected = extractor.map_roi_levels(rois, 4)
    assert torch.equal(map_roi_levels_mmdet(boxes), expected)
    assert map_roi_levels_mmdet(boxes.numpy()).tolist() == expected.tolist()


def test_match_same_ids_lists_duplicates_times_duplicates():
    # id 5: three times first, once second -> 3 rows; id 7: once x three
    # times -> 3 rows; id 9 only first, id 2 only second -> none
    rows = match_same_ids(np.array([5, 7, 5, 5, 9]), np.array([7, 5, 7, 7, 2]))
    assert rows.dtype == np.int64 and rows.shape == (6, 2)
    assert rows.tolist() == [[0, 1], [1, 0], [1, 2], [1, 3], [2, 1], [3, 1]]
    assert match_same_ids(np.array([1]), np.array([2])).shape == (0, 2)


def test_pad_indices_from_common_ids_only():
    calls = []

    def choice(n, size):  # a fixed "random" draw: the last candidates
        calls.append((n, size))
        return np.arange(size) % n + (n - min(n, size))

    ids = np.array([4, 6, 8])
    rows = pad_indices_from_common(ids, np.array([6, 8]), 6, choice)
    # own rows 0, 1, 2, then 3 pads drawn among rows 1 and 2 (ids 6, 8)
    assert calls == [(2, 3)]
    assert rows[:3].tolist() == [0, 1, 2]
    assert set(rows[3:].tolist()) <= {1, 2} and len(rows) == 6
    assert pad_indices_from_common(ids, np.array([6]), 3,
                                   choice).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match='common'):
        pad_indices_from_common(ids, np.array([1]), 5, choice)


@pytest.mark.parametrize(
    'box,side,centre,image_wh,square',
    [
        # half = 2: pixels 10..14 and 18..22
        ((10, 10, 30, 30), 5, (12, 20), (64, 64), (10, 18, 15, 23)),
        # even side 4: 2 * 2 + 1 = 5 pixels, as the reference
        ((10, 10, 30, 30), 4, (20, 20), (64, 64), (18, 18, 23, 23)),
        # spills out of the box (left and top of x1 = y1 = 10): allowed
        ((10, 10, 20, 20), 7, (10, 10), (64, 64), (7, 7, 14, 14)),
        # clipped to the image only: 58..66 -> 58..63, 42..50 -> 42..47
        ((50, 40, 64, 48), 9, (62, 46), (64, 48), (58, 42, 64, 48)),
        ((0, 0, 5, 5), 9, (1, 1), (64, 64), (0, 0, 6, 6)),
    ])
def test_cutout_square_hand_worked(box, side, centre, image_wh, square):
    assert cutout_square(box, side, centre, image_wh) == square


def test_box_pixel_span():
    assert box_pixel_span(10, 30) == (10, 29)
    assert box_pixel_span(10.4, 29.2) == (10, 29)
    assert box_pixel_span(3.0, 3.5) == (3, 3)


def test_jitter_is_the_references_inclusive_formula():
    """The reference jitters inclusive boxes (w = x2 - x1 + 1, x2' = x1' +
    w' - 1); written on the same pixels in our exclusive convention
    (x2 = x2_inclusive + 1) it is the same box."""
    rng = np.random.default_rng(0)
    x1, y1 = rng.integers(0, 100, 50), rng.integers(0, 100, 50)
    x2i, y2i = x1 + rng.integers(0, 80, 50), y1 + rng.integers(0, 80, 50)
    u = rng.uniform(-0.1, 0.1, (50, 4))
    w, h = x2i - x1 + 1, y2i - y1 + 1
    nx1, ny1 = x1 + u[:, 0] * w, y1 + u[:, 1] * h
    ref_incl = np.stack(
        [nx1, ny1, nx1 + w * (1 + u[:, 2]) - 1, ny1 + h * (1 + u[:, 3]) - 1],
        1)
    ours = jitter_boxes(
        np.stack([x1, y1, x2i + 1, y2i + 1], 1).astype(float), u)
    np.testing.assert_allclose(ours, ref_incl + [0, 0, 1, 1], atol=1e-9)

"""The random draws of SoCo's view pairs: jitter offsets and cutout squares."""
import numpy as np

from mmsoco.datasets.transforms.view_draws import (draw_cutout_squares,
                                                   draw_jitter_offsets)


def test_jitter_offsets_range_probability_and_zero_rows():
    """Each box is jittered with probability ``prob``; a jittered box gets 4
    independent U(-ratio, ratio) offsets, an unjittered one 4 zeros."""
    np.random.seed(3)
    offsets = draw_jitter_offsets(20000, prob=0.5, ratio=0.1)
    assert offsets.shape == (20000, 4)
    zero_rows = (offsets == 0).all(axis=1)
    # 20000 Bernoulli(0.5) draws: std 0.0035, so 0.02 is over 5 sigma
    assert abs(zero_rows.mean() - 0.5) < 0.02
    jittered = offsets[~zero_rows]
    assert (np.abs(jittered) <= 0.1).all() and (jittered != 0).all()
    # U(-0.1, 0.1): mean 0, std 0.1 / sqrt(3)
    assert abs(jittered.mean()) < 0.002
    assert abs(jittered.std() - 0.1 / np.sqrt(3)) < 0.002
    assert not draw_jitter_offsets(50, prob=0.0, ratio=0.1).any()
    assert (draw_jitter_offsets(50, prob=1.0, ratio=0.1) != 0).all()


def test_cutout_one_draw_per_box_duplicates_included():
    boxes = np.array([[10, 10, 30, 30]] * 3 + [[40, 40, 60, 60]], np.float32)
    np.random.seed(0)
    squares = draw_cutout_squares(boxes, (64, 64), 1.0, (0.1, 0.3))
    assert squares.dtype == np.int64 and squares.shape == (4, 4)
    np.random.seed(1)
    many = np.tile(boxes, (1000, 1))
    drawn = len(draw_cutout_squares(many, (64, 64), 0.5, (0.1, 0.3)))
    assert abs(drawn / len(many) - 0.5) < 0.03  # 4000 draws: 4 sigma
    assert len(draw_cutout_squares(many, (64, 64), 0.0, (0.1, 0.3))) == 0


def test_cutout_side_centre_and_image_clip():
    """A 100 x 100 box away from the edges: side s = round(sqrt(u * 1e4)),
    u in [0.1, 0.3], so s in [32, 55] and the square 2 (s // 2) + 1 wide,
    centred on a pixel of the box. A box in the image corner: squares
    may leave the box, never the image."""
    np.random.seed(2)
    box = np.array([[200, 100, 300, 200]], np.float32)
    for x1, y1, x2, y2 in draw_cutout_squares(
            np.repeat(box, 300, 0), (500, 400), 1.0, (0.1, 0.3)):
        assert x2 - x1 == y2 - y1 and (x2 - x1) % 2 == 1
        assert 33 <= x2 - x1 <= 55
        assert 200 <= (x1 + x2 - 1) // 2 <= 299
        assert 100 <= (y1 + y2 - 1) // 2 <= 199
    corner = np.array([[0, 0, 20, 20]], np.float32)
    squares = draw_cutout_squares(
        np.repeat(corner, 300, 0), (40, 30), 1.0, (0.2, 0.3))
    assert (squares >= 0).all()
    assert (squares[:, 2] <= 40).all() and (squares[:, 3] <= 30).all()
    assert (squares[:, 2] > 20).any() and (squares[:, 0] == 0).any()

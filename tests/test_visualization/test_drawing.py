"""mmsoco.visualization: boxes at the right pixels in their id's colour."""
import numpy as np

from mmsoco.visualization import (WHOLE_VIEW_COLOUR, colour_for_id, draw_boxes,
                                  mosaic)


def test_box_edges_follow_the_exclusive_convention():
    img = np.zeros((20, 30, 3), np.uint8)
    out = draw_boxes(img, np.array([[2, 3, 12, 9]]), ids=[5], thickness=1)
    colour = np.array(colour_for_id(5))
    # x2 = 12 exclusive: the last column drawn is 11, the row 8.
    assert (out[3, 2:12] == colour).all() and (out[8, 2:12] == colour).all()
    assert (out[3:9, 11] == colour).all() and (out[:, 12] == 0).all()
    assert (img == 0).all()  # drawn on a copy
    scaled = draw_boxes(
        img, np.array([[1, 1, 6, 4]]), ids=[-1], scale=2, thickness=1)
    assert (scaled[2, 2:12] == WHOLE_VIEW_COLOUR).all()


def test_ids_get_distinct_stable_colours():
    colours = [colour_for_id(i) for i in range(20)]
    assert len(set(colours)) == 20 and colours == [
        colour_for_id(i) for i in range(20)
    ]


def test_mosaic_pads_small_panels_and_shrinks_tall_ones():
    small = np.full((10, 8, 3), 7, np.uint8)
    tall = np.full((40, 20, 3), 9, np.uint8)
    out = mosaic([small, tall], height=20, gap=2)
    assert out.shape == (20, 8 + 2 + 10, 3)
    assert (out[:10, :8] == 7).all() and (out[10:, :8] == 0).all()
    assert (out[:, 8:10] == 255).all() and (out[:, 10:] == 9).all()

"""The random draws of SoCo's view pairs: box jitter and cutout (docs/method.md sections 2.2-2.3).

:class:`~mmsoco.datasets.transforms.multi_view.MultiViewBoxJitter` calls
these in a fixed order, so one seed gives one set of views; the geometry they
feed (:func:`~mmsoco.structures.boxes.jitter_boxes`,
:func:`~mmsoco.structures.boxes.cutout_square`) is pure and lives in
:mod:`mmsoco.structures.boxes`. Draws come from ``np.random`` (the global
generator mmengine's ``worker_init_fn`` seeds per worker).
"""
from typing import Tuple

import numpy as np

from mmsoco.structures.boxes import box_area, box_pixel_span, cutout_square


def draw_jitter_offsets(num_boxes: int, prob: float,
                        ratio: float) -> np.ndarray:
    """(N, 4) jitter draws: U(-ratio, ratio) for a box with probability
    ``prob``, zeros (no jitter) otherwise."""
    offsets = np.random.uniform(-ratio, ratio, size=(num_boxes, 4))
    offsets[np.random.uniform(size=num_boxes) >= prob] = 0
    return offsets


def draw_cutout_squares(boxes: np.ndarray, image_wh: Tuple[int, int],
                        prob: float, area_ratio: Tuple[float,
                                                       float]) -> np.ndarray:
    """SoCo's cutout draws for a view's boxes -> (n, 4) int64 squares.

    One draw per box, duplicates included: with probability ``prob``, a
    square of side ``round(sqrt(U(area_ratio) * box area))`` centred on a
    uniform pixel of the box (:func:`~mmsoco.structures.boxes.cutout_square`,
    clipped to the image only). The centre is an integer pixel drawn from
    the pixels the box covers, so float boxes are fine (the reference passed
    float corners to ``randint``, which refuses them).
    """
    squares = []
    areas = box_area(np.asarray(boxes, dtype=np.float64))
    for box, area in zip(boxes, areas):
        if np.random.uniform() >= prob:
            continue
        side = int(round(np.sqrt(np.random.uniform(*area_ratio) * area)))
        x_first, x_last = box_pixel_span(box[0], box[2])
        y_first, y_last = box_pixel_span(box[1], box[3])
        centre = (np.random.randint(x_first, x_last + 1),
                  np.random.randint(y_first, y_last + 1))
        squares.append(cutout_square(box, side, centre, image_wh))
    return np.array(squares, dtype=np.int64).reshape(-1, 4)

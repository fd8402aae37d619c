"""Draw boxes with stable per-id colours, and lay panels out in a row."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mmsoco.utils.atomic_files import atomic_write_image

#: Colour of id -1 (a whole-view fallback box).
WHOLE_VIEW_COLOUR = (255, 255, 255)
#: Colour for boxes drawn without an id (e.g. proposals not sampled).
UNSAMPLED_COLOUR = (128, 128, 128)
#: BGR ImageNet mean: what a cutout square (0 once normalised) looks like.
CUTOUT_COLOUR = (104, 116, 124)


def colour_for_id(box_id: int) -> Tuple[int, int, int]:
    """A bright BGR colour per id (golden-ratio hue steps), so one object has
    one colour in every panel; white for id -1."""
    if box_id < 0:
        return WHOLE_VIEW_COLOUR
    hue = int((box_id * 0.618033988749895 % 1.0) * 180)
    hsv = np.uint8([[[hue, 255, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_boxes(img: np.ndarray,
               boxes: np.ndarray,
               ids: Optional[Sequence[int]] = None,
               scale: float = 1.0,
               thickness: int = 2,
               colour: Optional[Tuple[int, int, int]] = None) -> np.ndarray:
    """A copy of ``img`` with x1y1x2y2 boxes (x2/y2 exclusive) scaled by
    ``scale``; each in :func:`colour_for_id` of its id, or in ``colour``."""
    canvas = np.ascontiguousarray(img).copy()
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if ids is None:
        ids = [-1] * len(boxes)
    for box, box_id in zip(boxes * scale, ids):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), colour
                      or colour_for_id(int(box_id)), thickness)
    return canvas


def fill_squares(img: np.ndarray,
                 squares,
                 colour: Tuple[int, int, int] = CUTOUT_COLOUR) -> np.ndarray:
    """A copy of ``img`` with x1y1x2y2 (end exclusive) squares filled with
    ``colour`` (by default how the preprocessor's cutout looks)."""
    canvas = np.ascontiguousarray(img).copy()
    for x1, y1, x2, y2 in np.asarray(squares, dtype=np.int64).reshape(-1, 4):
        canvas[y1:y2, x1:x2] = colour
    return canvas


def to_height(img: np.ndarray, height: int) -> np.ndarray:
    """``img`` resized to ``height`` rows, aspect kept."""
    width = max(1, int(round(img.shape[1] * height / img.shape[0])))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def label(img: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``img`` with ``text`` in its top-left corner."""
    canvas = np.ascontiguousarray(img).copy()
    cv2.putText(canvas, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def mosaic(panels: Sequence[np.ndarray],
           height: int,
           gap: int = 4) -> np.ndarray:
    """Panels in a row, each at most ``height`` tall (taller ones shrunk,
    shorter ones padded below, so small views keep their pixel size),
    separated by white ``gap``-pixel columns."""
    row = []
    for panel in panels:
        if panel.shape[0] > height:
            panel = to_height(panel, height)
        padded = np.zeros((height, panel.shape[1], 3), np.uint8)
        padded[:panel.shape[0]] = panel
        row += [padded, np.full((height, gap, 3), 255, np.uint8)]
    return np.concatenate(row[:-1], axis=1)


def write_image(path: str, img: np.ndarray) -> str:
    """Write ``img`` (PNG or JPEG by extension) atomically; return ``path``."""
    return atomic_write_image(path, img)

"""The pixels of SoCo's views: crop, resize as the reference does (docs/method.md section 2.1).

The reference builds its views with torchvision on PIL images: it crops the
integer window and resizes the crop with PIL's antialiased BILINEAR filter
(SoCo*'s V4 through ``Resize``, the same filter). ``'pil_bilinear'`` does
exactly that with Pillow; ``'cv2_linear'`` (OpenCV INTER_LINEAR, faster, not
antialiased) is kept as a named option (benchmarks/README.md measures both).
"""
from typing import List, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

RESIZERS = ('pil_bilinear', 'cv2_linear')


def resize_image(img: np.ndarray,
                 size_wh: Tuple[int, int],
                 resizer: str = 'pil_bilinear') -> np.ndarray:
    """Bilinear resize of an HxWxC uint8 image to ``size_wh`` = (w, h).

    ``'pil_bilinear'`` is Pillow's antialiased bilinear filter, the one the
    reference's torchvision transforms apply to PIL images; ``'cv2_linear'``
    is OpenCV's INTER_LINEAR (no antialiasing: it drops detail when
    shrinking by more than 2x, a few grey levels off PIL on photographs).
    Channels are filtered independently, so BGR order is fine.
    """
    if img.shape[1] == size_wh[0] and img.shape[0] == size_wh[1]:
        return np.ascontiguousarray(img)
    if resizer == 'cv2_linear':
        return cv2.resize(img, size_wh, interpolation=cv2.INTER_LINEAR)
    pil = Image.fromarray(np.ascontiguousarray(img))
    return np.array(pil.resize(size_wh, Image.BILINEAR))


def crop_and_resize(img: np.ndarray,
                    window: Sequence[int],
                    size_wh: Tuple[int, int],
                    resizer: str = 'pil_bilinear') -> np.ndarray:
    """Crop an integer window, then resize only the crop (torchvision's
    ``resized_crop``: pixels outside the window never enter the filter)."""
    x1, y1, x2, y2 = (int(v) for v in window)
    return resize_image(img[y1:y2, x1:x2], size_wh, resizer)


def render_views(img: np.ndarray,
                 windows: Sequence,
                 views: Sequence[dict],
                 resizer: str = 'pil_bilinear') -> List[np.ndarray]:
    """The pixels of every view before its flip: a crop-and-resize of its
    window, or (``resize_of``) its source view resized.

    With PIL the image is wrapped once and each window cropped by PIL (one
    copy less per view than going through numpy); same pixels as
    :func:`crop_and_resize`.
    """
    if resizer != 'pil_bilinear':
        out = []
        for window, view in zip(windows, views):
            if view['kind'] == 'resize_of':
                out.append(
                    resize_image(out[view['source']], view['size'], resizer))
            else:
                out.append(crop_and_resize(img, window, view['size'], resizer))
        return out
    source = Image.fromarray(np.ascontiguousarray(img))
    pils = []
    for window, view in zip(windows, views):
        if view['kind'] == 'resize_of':
            pil = pils[view['source']]
        else:
            pil = source.crop(tuple(int(c) for c in window))
        if pil.size != tuple(view['size']):
            pil = pil.resize(view['size'], Image.BILINEAR)
        pils.append(pil)
    return [np.array(pil) for pil in pils]

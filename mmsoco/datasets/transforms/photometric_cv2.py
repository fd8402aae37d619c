"""Faster approximations of the view augmentation's pixels (``docs/method.md`` section 2.4).

``backend='cv2'`` of the photometric transforms: the same operations as
:mod:`.photometric_pil` (the reference's pixels, Pillow's arithmetic), each
written as one cv2 call on HxWx3 uint8 BGR images (colour affine maps that
round to nearest, cv2's full-range HSV, an exact separable Gaussian with
reflected borders). They are not the reference's pixels: measured against
torchvision on PIL images on four photos at 224 px
(``benchmarks/photometric_ops.py``, table in ``benchmarks/README.md``),
brightness, contrast, saturation and grayscale are within 1 grey level (a
bias of about +0.4 from rounding where Pillow truncates), the hue rotation
within 10 and the blur within 28 at the image borders (a Gaussian against
Pillow's box passes with extended edges); solarize is the same LUT.
"""
from typing import Optional

import cv2
import numpy as np

from .photometric_pil import solarize

__all__ = [
    'adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue',
    'to_grayscale', 'solarize', 'gaussian_blur'
]

#: ITU-R 601 luma weights in BGR order (torchvision's rgb_to_grayscale).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
_EYE = np.eye(3, dtype=np.float32)


def _affine(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Per-pixel colour affine map (3x3 or 3x4 matrix), rounded and
    saturated to uint8. One ``cv2.transform`` call: 2-3x faster than a uint8
    LUT, or a cvtColor + addWeighted pair, on views this size."""
    return cv2.transform(img, matrix.astype(np.float32))


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale every channel by ``factor``, rounded (Pillow truncates)."""
    return _affine(img, _EYE * factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean gray level, unrounded, the result rounded.

    The mean gray level is the luma of the channel means (luma is linear).
    """
    mean = float(np.dot(_LUMA_BGR, cv2.mean(img)[:3]))
    offset = np.full((3, 1), mean * (1 - factor), dtype=np.float32)
    return _affine(img, np.hstack([_EYE * factor, offset]))


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's float luma, rounded."""
    return _affine(img,
                   _EYE * factor + (1 - factor) * np.tile(_LUMA_BGR, (3, 1)))


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns, ``shift`` in [-0.5, 0.5]; cv2's
    full-range HSV keeps 256 hue steps, so the rotation is a wrapping uint8
    addition (of round(shift * 256), where Pillow adds int(shift * 255) to
    its own HSV)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    hue = hsv[..., 0]
    np.add(hue, np.uint8(int(round(shift * 256)) % 256), out=hue)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


def to_grayscale(img: np.ndarray) -> np.ndarray:
    """Gray (ITU-R 601 luma) replicated over three channels."""
    return _affine(img, np.tile(_LUMA_BGR, (3, 1)))


def gaussian_blur(img: np.ndarray,
                  sigma: float,
                  kernel_size: Optional[int] = None) -> np.ndarray:
    """An exact Gaussian with reflected borders (Pillow: three box passes,
    extended borders).

    With no ``kernel_size`` the kernel spans 3 sigma each side, which BYOL's
    23-px kernel never truncates for sigma <= 2. A separable float kernel is
    2-3x faster than ``cv2.GaussianBlur``'s fixed-point uint8 path here.
    """
    if kernel_size is None:
        kernel_size = 2 * int(np.ceil(3 * sigma)) + 1
    kernel = cv2.getGaussianKernel(kernel_size, sigma, cv2.CV_32F)
    return cv2.sepFilter2D(
        img, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)

"""BYOL-style photometric augmentation of SoCo's views (``docs/method.md`` section 2.4).

Colour jitter, random grayscale, Gaussian blur and solarization with
torchvision's semantics, on HxWx3 uint8 BGR images (as mmcv decodes them),
written as single cv2 calls (colour affine maps, a LUT, HSV) so that they
cost little on the small views. Each transform reads and writes
``results['img']``; apply them to chosen views with
:class:`~mmsoco.datasets.transforms.ApplyToViews`.

Results round to the nearest level where torchvision's tensor ops truncate,
and hue goes through uint8 HSV: within a level or two of torchvision.

The four are one method step (the asymmetric BYOL augmentation), so they share
this module; the pure image functions come first, the registered shells after.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.registry import TRANSFORMS

#: ITU-R 601 luma weights in BGR order (torchvision's rgb_to_grayscale).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
_EYE = np.eye(3, dtype=np.float32)


def _affine(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Per-pixel colour affine map (3x3 or 3x4 matrix), rounded and
    saturated to uint8. One ``cv2.transform`` call: 2-3x faster than a uint8
    LUT, or a cvtColor + addWeighted pair, on views this size."""
    return cv2.transform(img, matrix.astype(np.float32))


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale every channel by ``factor`` (torchvision
    ``adjust_brightness``)."""
    return _affine(img, _EYE * factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean gray level (torchvision ``adjust_contrast``).

    The mean gray level is the luma of the channel means (luma is linear).
    """
    mean = float(np.dot(_LUMA_BGR, cv2.mean(img)[:3]))
    offset = np.full((3, 1), mean * (1 - factor), dtype=np.float32)
    return _affine(img, np.hstack([_EYE * factor, offset]))


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's grayscale (torchvision ``adjust_saturation``)."""
    return _affine(img,
                   _EYE * factor + (1 - factor) * np.tile(_LUMA_BGR, (3, 1)))


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns, ``shift`` in [-0.5, 0.5]
    (torchvision ``adjust_hue``); cv2's full-range HSV keeps 256 hue steps,
    so the rotation is a wrapping uint8 addition."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    hue = hsv[..., 0]
    np.add(hue, np.uint8(int(round(shift * 256)) % 256), out=hue)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


def to_grayscale(img: np.ndarray) -> np.ndarray:
    """Gray (ITU-R 601 luma) replicated over three channels."""
    return _affine(img, np.tile(_LUMA_BGR, (3, 1)))


def solarize(img: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Invert pixels at or above ``threshold`` (torchvision ``solarize``)."""
    levels = np.arange(256)
    return cv2.LUT(
        img,
        np.where(levels >= threshold, 255 - levels, levels).astype(np.uint8))


def gaussian_blur(img: np.ndarray,
                  sigma: float,
                  kernel_size: Optional[int] = None) -> np.ndarray:
    """Gaussian blur with reflected borders (torchvision's padding).

    With no ``kernel_size`` the kernel spans 3 sigma each side, which BYOL's
    23-px kernel never truncates for sigma <= 2. A separable float kernel is
    2-3x faster than ``cv2.GaussianBlur``'s fixed-point uint8 path here.
    """
    if kernel_size is None:
        kernel_size = 2 * int(np.ceil(3 * sigma)) + 1
    kernel = cv2.getGaussianKernel(kernel_size, sigma, cv2.CV_32F)
    return cv2.sepFilter2D(
        img, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)


def _factor_range(value: float,
                  center: float = 1.0,
                  lower: float = 0.0) -> Optional[Tuple[float, float]]:
    if value == 0:
        return None
    return max(lower, center - value), center + value


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random
    order, with probability ``prob`` (torchvision ``ColorJitter`` inside
    ``RandomApply``).

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.

    Factors: brightness, contrast and saturation ~ U(max(0, 1 - v), 1 + v),
    hue shift ~ U(-hue, hue) turns.

    Args:
        brightness, contrast, saturation (float): jitter strengths.
        hue (float): maximal hue shift, in [0, 0.5].
        prob (float): probability of jittering at all. Defaults to 0.8.
    """

    def __init__(self,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.2,
                 hue: float = 0.1,
                 prob: float = 0.8) -> None:
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.ranges = [
            (adjust_brightness, _factor_range(brightness)),
            (adjust_contrast, _factor_range(contrast)),
            (adjust_saturation, _factor_range(saturation)),
            (adjust_hue, _factor_range(hue, center=0.0, lower=-0.5)),
        ]
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue, self.prob = saturation, hue, prob

    def transform(self, results: dict) -> dict:
        if np.random.uniform() >= self.prob:
            return results
        img = results['img']
        for index in np.random.permutation(len(self.ranges)):
            adjust, bounds = self.ranges[index]
            if bounds is not None:
                img = adjust(img, np.random.uniform(*bounds))
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """Turn the image gray (three equal channels) with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.
    """

    def __init__(self, prob: float = 0.2) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            results['img'] = to_grayscale(results['img'])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur with sigma ~ U(``sigma``) with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.

    Args:
        prob (float): blur probability (SoCo: 1.0 on V1, 0.1 on V2/V3).
        sigma (tuple[float, float]): sigma range. Defaults to (0.1, 2.0).
        kernel_size (int, optional): fixed odd kernel size; None sizes it
            from sigma.
    """

    def __init__(self,
                 prob: float = 1.0,
                 sigma: Sequence[float] = (0.1, 2.0),
                 kernel_size: Optional[int] = None) -> None:
        if kernel_size is not None and kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.prob, self.sigma, self.kernel_size = prob, tuple(sigma), \
            kernel_size

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            results['img'] = gaussian_blur(results['img'],
                                           np.random.uniform(*self.sigma),
                                           self.kernel_size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'sigma={self.sigma}, kernel_size={self.kernel_size})')


@TRANSFORMS.register_module()
class RandomSolarize(BaseTransform):
    """Invert pixels >= ``threshold`` with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.
    """

    def __init__(self, prob: float = 0.2, threshold: int = 128) -> None:
        self.prob, self.threshold = prob, threshold

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            results['img'] = solarize(results['img'], self.threshold)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'threshold={self.threshold})')

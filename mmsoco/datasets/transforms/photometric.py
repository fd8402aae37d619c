"""BYOL's photometric augmentation of SoCo's views (``docs/method.md`` section 2.4).

Colour jitter, random grayscale, Gaussian blur and solarization, on HxWx3
uint8 BGR images (as mmcv decodes them), as the reference draws and computes
them: torchvision's ``RandomApply(ColorJitter)``, ``RandomGrayscale``,
``ImageFilter.GaussianBlur`` and ``ImageOps.solarize`` on PIL images. Each
transform reads and writes ``results['img']``; apply them to chosen views
with :class:`~mmsoco.datasets.transforms.ApplyToViews`.

``backend`` picks the pixel arithmetic:

- ``'pil'`` (default): :mod:`.photometric_pil`, Pillow's arithmetic redone
  in numba kernels, bit-identical to torchvision on PIL images (tested op by
  op on photos and, per pixel, on every RGB colour);
- ``'cv2'``: :mod:`.photometric_cv2`, single cv2 calls, faster but not the
  reference's pixels (within 1 grey level for the colour blends, ~10 for
  the hue and ~30 at the borders for the blur; ``benchmarks/README.md``).

The four are one method step (the asymmetric BYOL augmentation), so their
thin registered shells share this module; the pixels live in the two
backends.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.registry import TRANSFORMS
from . import photometric_cv2, photometric_pil

#: The pixel arithmetic of each ``backend`` value.
BACKENDS = {'pil': photometric_pil, 'cv2': photometric_cv2}


def _backend(name: str):
    if name not in BACKENDS:
        raise ValueError(f'backend must be one of {sorted(BACKENDS)} '
                         f"('pil': the reference's pixels), got {name!r}")
    return BACKENDS[name]


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
        backend (str): ``'pil'`` (the reference's pixels) or ``'cv2'``
            (faster approximations); see the module docstring.
    """

    def __init__(self,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.2,
                 hue: float = 0.1,
                 prob: float = 0.8,
                 backend: str = 'pil') -> None:
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        ops = _backend(backend)
        self.adjustments = (ops.adjust_brightness, ops.adjust_contrast,
                            ops.adjust_saturation, ops.adjust_hue)
        self.bounds = (_factor_range(brightness), _factor_range(contrast),
                       _factor_range(saturation),
                       _factor_range(hue, center=0.0, lower=-0.5))
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue, self.prob = saturation, hue, prob
        self.backend = backend

    def jitter(self, img: np.ndarray, order: Sequence[int],
               factors: Sequence[Optional[float]]) -> np.ndarray:
        """Apply the adjustments in ``order`` (0 brightness, 1 contrast, 2
        saturation, 3 hue), each with its factor (None: skipped), as
        torchvision's ``ColorJitter.forward`` does with its drawn
        parameters."""
        for index in order:
            if factors[index] is not None:
                img = self.adjustments[index](img, factors[index])
        return img

    def transform(self, results: dict) -> dict:
        if np.random.uniform() >= self.prob:
            return results
        order = np.random.permutation(len(self.adjustments))
        factors = [None] * len(self.adjustments)
        for index in order:
            if self.bounds[index] is not None:
                factors[index] = np.random.uniform(*self.bounds[index])
        results['img'] = self.jitter(results['img'], order, factors)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """Turn the image gray (three equal channels) with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.

    Args:
        prob (float): probability. Defaults to 0.2.
        backend (str): ``'pil'`` (Pillow's fixed-point luma, the reference)
            or ``'cv2'`` (float luma, rounded).
    """

    def __init__(self, prob: float = 0.2, backend: str = 'pil') -> None:
        self.to_grayscale = _backend(backend).to_grayscale
        self.prob, self.backend = prob, backend

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            results['img'] = self.to_grayscale(results['img'])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur with sigma ~ U(``sigma``) with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.

    Args:
        prob (float): blur probability (SoCo: 1.0 on V1, 0.1 on V2/V3).
        sigma (tuple[float, float]): sigma range. Defaults to (0.1, 2.0).
        kernel_size (int, optional): ``backend='cv2'`` only: a fixed odd
            kernel size; None sizes it from sigma (3 sigma each side).
        backend (str): ``'pil'`` (``ImageFilter.GaussianBlur(sigma)``: box
            passes, the reference) or ``'cv2'`` (an exact Gaussian with
            reflected borders).
    """

    def __init__(self,
                 prob: float = 1.0,
                 sigma: Sequence[float] = (0.1, 2.0),
                 kernel_size: Optional[int] = None,
                 backend: str = 'pil') -> None:
        self.gaussian_blur = _backend(backend).gaussian_blur
        if kernel_size is not None and backend != 'cv2':
            raise ValueError(
                f"kernel_size={kernel_size} needs backend='cv2': Pillow's "
                "GaussianBlur (backend='pil') sizes its boxes from sigma")
        if kernel_size is not None and kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.prob, self.sigma = prob, tuple(sigma)
        self.backend, self.kernel_size = backend, kernel_size

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            sigma = np.random.uniform(*self.sigma)
            extra = {} if self.kernel_size is None else dict(
                kernel_size=self.kernel_size)
            results['img'] = self.gaussian_blur(results['img'], sigma, **extra)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'sigma={self.sigma}, backend={self.backend!r}, '
                f'kernel_size={self.kernel_size})')


@TRANSFORMS.register_module()
class RandomSolarize(BaseTransform):
    """Invert pixels >= ``threshold`` with probability ``prob``.

    SoCo (https://arxiv.org/abs/2106.02637), the view augmentation:
    docs/method.md section 2.4.

    Args:
        prob (float): probability. Defaults to 0.2.
        threshold (int): the first inverted level. Defaults to 128.
        backend (str): accepted so that one setting switches every step;
            both backends run the same (exact) lookup table.
    """

    def __init__(self,
                 prob: float = 0.2,
                 threshold: int = 128,
                 backend: str = 'pil') -> None:
        self.solarize = _backend(backend).solarize
        self.prob, self.threshold, self.backend = prob, threshold, backend

    def transform(self, results: dict) -> dict:
        if np.random.uniform() < self.prob:
            results['img'] = self.solarize(results['img'], self.threshold)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'threshold={self.threshold}, backend={self.backend!r})')

"""The view augmentation's pixels as the reference computes them (``docs/method.md`` section 2.4).

The authors' code runs torchvision's transforms on PIL images, so its pixels
are Pillow's arithmetic: ``ImageEnhance`` blends (float32, truncated to
uint8), the fixed-point RGB -> L conversion, Pillow's own uint8 HSV for the
hue (``libImaging/Convert.c``), ``ImageFilter.GaussianBlur``'s three box
passes with fractional ends (``libImaging/BoxBlur.c``) and
``ImageOps.solarize``. These pure functions redo that arithmetic step for
step, in Pillow's float32 / float64 / integer types (or cheaper ones where a
test over every input shows the same values), on HxWx3 uint8 BGR images (as
mmcv decodes them), with numba kernels in place of one PIL call per
operation (3-11x faster than calling Pillow, see ``benchmarks/README.md``).
``tests/test_datasets/test_transforms/test_photometric_pil.py`` checks them
against torchvision on PIL images: identical pixels, on every RGB colour
where the operation is per pixel.
"""
import math
from typing import NamedTuple

import cv2
import numba
import numpy as np

__all__ = [
    'adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue',
    'to_grayscale', 'solarize', 'gaussian_blur', 'BoxBlurWeights',
    'box_blur_weights', 'bgr_to_pil_hsv', 'pil_hsv_to_bgr'
]

# Kernels work on the flattened image (3 bytes a pixel): plain indices and no
# branches let LLVM vectorise them; error_model='numpy' drops the zero
# checks of float division (no denominator here is zero).
_kernel = numba.njit(cache=True, error_model='numpy')
_inline = numba.njit(cache=True, error_model='numpy', inline='always')


@_inline
def _gray(b, g, r):
    """Pillow's RGB -> L: (R * 19595 + G * 38470 + B * 7471 + 0x8000) >>
    16, the ITU-R 601 luma in 16-bit fixed point."""
    return (np.int32(r) * 19595 + np.int32(g) * 38470 + np.int32(b) * 7471 +
            0x8000) >> 16


@_kernel
def _grayscale(flat):
    out = np.empty_like(flat)
    for p in range(flat.shape[0] // 3):
        gray = _gray(flat[3 * p], flat[3 * p + 1], flat[3 * p + 2])
        out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = gray
    return out


@_kernel
def _gray_sum(flat):
    total = 0
    for p in range(flat.shape[0] // 3):
        total += _gray(flat[3 * p], flat[3 * p + 1], flat[3 * p + 2])
    return total


def _check(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(
            'expected an HxWx3 uint8 BGR image, got '
            f'{img.dtype} of shape {img.shape} (decode the images in colour: '
            "LoadImageFromFile's default color_type='color')")


def _flat(img: np.ndarray) -> np.ndarray:
    """The image's bytes as one contiguous row (3 a pixel)."""
    _check(img)
    return np.ascontiguousarray(img).reshape(-1)


def to_grayscale(img: np.ndarray) -> np.ndarray:
    """``convert('L')`` on all three channels (torchvision's
    ``rgb_to_grayscale(img, 3)`` on a PIL image)."""
    return _grayscale(_flat(img)).reshape(img.shape)


@_inline
def _blend_level(base, level, alpha):
    """Pillow's ``ImagingBlend`` of one value: ``in1 + alpha * (in2 -
    in1)`` in float32 (C ``float alpha``), clipped to [0, 255], truncated."""
    value = base + alpha * (np.float32(level) - base)
    return np.uint8(np.int32(min(max(value, np.float32(0)), np.float32(255))))


@_kernel
def _blend_with_level(flat, base, alpha):
    out = np.empty_like(flat)
    for j in range(flat.shape[0]):
        out[j] = _blend_level(base, flat[j], alpha)
    return out


def _blend_solid(img: np.ndarray, base: int, factor: float) -> np.ndarray:
    """``Image.blend(solid grey base, img, factor)``."""
    return _blend_with_level(_flat(img), np.float32(base),
                             np.float32(factor)).reshape(img.shape)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with black (``ImageEnhance.Brightness``)."""
    return _blend_solid(img, 0, factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the solid grey of the gray image's mean, rounded half up
    (``ImageEnhance.Contrast``)."""
    mean = int(_gray_sum(_flat(img)) / (img.shape[0] * img.shape[1]) + 0.5)
    return _blend_solid(img, mean, factor)


@_kernel
def _blend_with_gray(flat, alpha):
    out = np.empty_like(flat)
    for p in range(flat.shape[0] // 3):
        b, g, r = flat[3 * p], flat[3 * p + 1], flat[3 * p + 2]
        gray = np.float32(_gray(b, g, r))
        out[3 * p] = _blend_level(gray, b, alpha)
        out[3 * p + 1] = _blend_level(gray, g, alpha)
        out[3 * p + 2] = _blend_level(gray, r, alpha)
    return out


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's own gray (``ImageEnhance.Color``)."""
    return _blend_with_gray(_flat(img), np.float32(factor)).reshape(img.shape)


@_inline
def _hsv(r, g, b):
    """Pillow's ``rgb2hsv``: float32 ratios, the hue offsets added in double
    and stored as float32, fmod, (int)(h * 255.0); (int)(s * 255.0) in
    float32 gives the same level for every colour (the hue does not: it
    stays in double; the test sweeps all 2**24 colours). Branch-free: a
    grey pixel (max == min) comes out (0, 0, v) as in Pillow."""
    r, g, b = np.int32(r), np.int32(g), np.int32(b)
    maxc = max(r, max(g, b))
    spread = maxc - min(r, min(g, b))
    sat = np.float32(spread) / np.float32(max(maxc, 1))
    denominator = np.float32(max(spread, 1))
    rc = np.float32(maxc - r) / denominator
    gc = np.float32(maxc - g) / denominator
    bc = np.float32(maxc - b) / denominator
    hue_g = np.float32(2.0 + np.float64(rc) - np.float64(bc))
    hue_b = np.float32(4.0 + np.float64(gc) - np.float64(rc))
    hue = bc - gc if r == maxc else (hue_g if g == maxc else hue_b)
    # fmod(hue / 6 + 1, 1) for hue / 6 + 1 in (0.8, 1.9): x - 1 is exact.
    turn = np.float64(hue) / 6.0 + 1.0
    hue = np.float32(turn - 1.0 if turn >= 1.0 else turn)
    hue_level = min(np.int32(np.float64(hue) * 255.0), 255)
    return hue_level, np.int32(sat * np.float32(255)), maxc


@_inline
def _c_round(value):
    """C ``round`` of a non-negative float32 (halves away from zero)."""
    whole = np.floor(value)
    return np.int32(whole) + np.int32(value - whole >= np.float32(0.5))


@_inline
def _rgb(hue, sat, val):
    """Pillow's ``hsv2rgb``: sector i = floor(h * 6.0 / 255.0), remainder
    f = (float)(h * 6.0 / 255.0 - i), fs = (float)(s / 255.0), then p, q, t
    = round(v * (1.0 - ...)) in double. Here all in integer and float32
    arithmetic, which gives the same i, f, fs and p, q, t for every HSV
    triple (the test sweeps all 2**24), at half the vector width's cost.
    Branch-free: sat 0 gives p = q = t = val."""
    f32 = np.float32
    i = np.int32(hue) * 6 // 255
    f = f32(np.int32(hue) * 6 - 255 * i) / f32(255)
    fs = f32(sat) / f32(255)
    v = f32(val)
    p = _c_round(v * (f32(1) - fs))
    q = _c_round(v * (f32(1) - fs * f))
    t = _c_round(v * (f32(1) - fs * (f32(1) - f)))
    # (R, G, B) of sectors 0..5: (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v)
    # (v,p,q); i = 6 (hue 255) is sector 0, as Pillow's i % 6.
    red = val if (i == 0 or i >= 5) else (q if i == 1 else
                                          (p if i <= 3 else t))
    green = t if (i == 0 or i == 6) else (val if i <= 2 else
                                          (q if i == 3 else p))
    blue = p if (i <= 1 or i == 6) else (t if i == 2 else
                                         (val if i <= 4 else q))
    return red, green, blue


@_kernel
def _hue_rotated(flat, shift):
    out = np.empty_like(flat)
    for p in range(flat.shape[0] // 3):
        hue, sat, val = _hsv(flat[3 * p + 2], flat[3 * p + 1], flat[3 * p])
        red, green, blue = _rgb((hue + shift) & 255, sat, val)
        out[3 * p], out[3 * p + 1], out[3 * p + 2] = blue, green, red
    return out


@_kernel
def _to_hsv(flat):
    out = np.empty_like(flat)
    for p in range(flat.shape[0] // 3):
        out[3 * p], out[3 * p + 1], out[3 * p + 2] = _hsv(
            flat[3 * p + 2], flat[3 * p + 1], flat[3 * p])
    return out


@_kernel
def _from_hsv(flat):
    out = np.empty_like(flat)
    for p in range(flat.shape[0] // 3):
        red, green, blue = _rgb(flat[3 * p], flat[3 * p + 1], flat[3 * p + 2])
        out[3 * p], out[3 * p + 1], out[3 * p + 2] = blue, green, red
    return out


def bgr_to_pil_hsv(img: np.ndarray) -> np.ndarray:
    """``convert('HSV')`` of a BGR image: HxWx3 uint8 (H, S, V)."""
    return _to_hsv(_flat(img)).reshape(img.shape)


def pil_hsv_to_bgr(hsv: np.ndarray) -> np.ndarray:
    """An HSV image's ``convert('RGB')``, as BGR."""
    return _from_hsv(_flat(hsv)).reshape(hsv.shape)


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns in [-0.5, 0.5] (torchvision's
    ``adjust_hue`` on PIL: Pillow's HSV, the hue channel plus
    ``uint8(int32(shift * 255))`` with wrap-around, back to RGB)."""
    if not -0.5 <= shift <= 0.5:
        raise ValueError(f'hue shift must be in [-0.5, 0.5], got {shift}')
    step = int(np.int32(shift * 255)) % 256  # truncated, then wrapped
    return _hue_rotated(_flat(img), step).reshape(img.shape)


@_kernel
def _solarized(flat, threshold):
    out = np.empty_like(flat)
    for j in range(flat.shape[0]):
        level = np.int32(flat[j])
        out[j] = np.uint8(255 - level if level >= threshold else level)
    return out


def solarize(img: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Invert levels >= ``threshold`` (``ImageOps.solarize``)."""
    return _solarized(_flat(img), np.int32(threshold)).reshape(img.shape)


class BoxBlurWeights(NamedTuple):
    """One box pass of Pillow's ``GaussianBlur`` (``ImagingHorizontalBoxBlur``).

    Weights are in units of 2**-24: the ``2 * inner + 1`` nearest pixels
    weigh ``inner_weight`` each, the next pixel on each side
    ``edge_weight``.
    """
    radius: float  # the fractional box radius sigma becomes
    inner: int  # int(radius)
    inner_weight: int
    edge_weight: int


def box_blur_weights(sigma: float, passes: int = 3) -> BoxBlurWeights:
    """The box pass of ``GaussianBlur(sigma)``.

    Pillow's ``_gaussian_blur_radius`` turns sigma into a fractional box
    radius (float32; the box length through a double sqrt), then the
    weights of :class:`BoxBlurWeights`.
    """
    f32 = np.float32
    sigma2 = f32(sigma) * f32(sigma) / f32(passes)
    length = f32(math.sqrt(12.0 * float(sigma2) + 1.0))
    whole = f32(math.floor((float(length) - 1.0) / 2.0))
    frac = (f32(2) * whole + f32(1)) * (
        whole * (whole + f32(1)) - f32(3) * sigma2)
    frac = frac / (f32(6) * (sigma2 - (whole + f32(1)) * (whole + f32(1))))
    radius = whole + frac
    inner = int(radius)
    inner_weight = int(f32(1 << 24) / (radius * f32(2) + f32(1)))
    edge_weight = ((1 << 24) - (2 * inner + 1) * inner_weight) // 2
    return BoxBlurWeights(float(radius), inner, inner_weight, edge_weight)


@_kernel
def _box_pass(src, dst, inner, inner_weight, edge_weight):
    """One box pass down the columns of ``src`` (rows, n) into ``dst``:
    out[y] = (inner_weight * (sum of rows y-inner..y+inner) + edge_weight *
    (row y-inner-1 + row y+inner+1) + 2**23) >> 24, rows past an edge
    replaced by the edge row (Pillow's extended edges), a sliding sum as
    ``ImagingLineBoxBlur``.
    The sums stay below 255 * 2**24 + 2**23 < 2**32: uint32 (truncated
    back at each step so LLVM keeps 32-bit lanes) is exact, as in Pillow."""
    count, n = src.shape
    last = count - 1
    u32 = np.uint32
    inner_w, edge_w = u32(inner_weight), u32(edge_weight)
    half = u32(1 << 23)
    acc = np.zeros(n, np.uint32)
    for k in range(-inner - 1, inner):  # the window of row -1
        row = src[min(max(k, 0), last)]
        for j in range(n):
            acc[j] = u32(acc[j] + u32(row[j]))
    for y in range(count):
        enter = src[min(y + inner, last)]
        leave = src[max(y - inner - 1, 0)]
        far = src[min(y + inner + 1, last)]
        out = dst[y]
        for j in range(n):
            total = u32(u32(acc[j] + u32(enter[j])) - u32(leave[j]))
            acc[j] = total
            pair = u32(u32(leave[j]) + u32(far[j]))
            bulk = u32(u32(u32(total * inner_w) + u32(pair * edge_w)) + half)
            out[j] = np.uint8(bulk >> u32(24))


@_kernel
def _box_passes(rows, inner, inner_weight, edge_weight, passes):
    """``passes`` box passes down the columns of ``rows``, each rounded to
    uint8 (a new array; ``rows`` is left as it is)."""
    buffers = (np.empty_like(rows), np.empty_like(rows))
    _box_pass(rows, buffers[0], inner, inner_weight, edge_weight)
    for index in range(1, passes):
        _box_pass(buffers[(index - 1) % 2], buffers[index % 2], inner,
                  inner_weight, edge_weight)
    return buffers[(passes - 1) % 2]


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """``img.filter(ImageFilter.GaussianBlur(radius=sigma))``: three box
    passes along x, then three along y, each rounded to uint8. The x passes
    run down the columns of the transposed image."""
    _check(img)
    weights = box_blur_weights(sigma)
    if weights.radius == 0:  # Pillow skips a zero radius
        return img.copy()
    height, width = img.shape[:2]

    def three_passes(rows):  # the kernels take the weights as scalars
        return _box_passes(rows, weights.inner, weights.inner_weight,
                           weights.edge_weight, 3)

    cols = three_passes(cv2.transpose(img).reshape(width, height * 3))
    rows = cv2.transpose(cols.reshape(width, height, 3))
    return three_passes(rows.reshape(height,
                                     width * 3)).reshape(height, width, 3)

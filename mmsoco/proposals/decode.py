"""Decoding an image for offline proposal generation (``docs/method.md`` section 1.2).

:func:`decode_image` follows what training sees (mmcv's ``LoadImageFromFile``
with the ``color`` flag): EXIF orientation applied, grayscale / palette -> 3
channels, 16-bit -> 8-bit by dropping the low byte (as OpenCV does), CMYK ->
RGB, alpha dropped. An image of more than ``max_pixels`` pixels is refused
from its header alone, before decoding (a decompression-bomb guard).
"""
import os.path as osp
import warnings
from typing import List, Tuple

import numpy as np

#: Images above this many pixels are refused (not decoded) by default.
DEFAULT_MAX_PIXELS = 40_000_000


class ImageDecodeError(Exception):
    """An image file cannot be used; the message is the reason listed."""


def _to_rgb_uint8(img) -> Tuple[np.ndarray, List[str]]:
    """An oriented PIL image -> (H, W, 3) uint8 RGB and the conversions made."""
    mode = img.mode
    if mode.startswith('I;16') or mode in ('I', 'F'):
        arr = np.asarray(img)
        if mode == 'F':
            arr = np.clip(arr, 0, 255).astype(np.uint8)
            note = '32-bit float -> 8-bit (clipped)'
        else:
            # OpenCV's IMREAD_COLOR keeps the high byte of 16-bit samples.
            arr = (np.clip(arr.astype(np.int64), 0, 65535) >> 8).astype(
                np.uint8)
            note = '16-bit -> 8-bit'
        return np.repeat(
            arr[:, :, None], 3, axis=2), [note, 'grayscale -> RGB']
    notes = []
    if mode in ('L', '1', 'LA'):
        notes.append('grayscale -> RGB')
    elif mode in ('P', 'PA'):
        notes.append('palette -> RGB')
    elif mode == 'CMYK':
        notes.append('CMYK -> RGB')
    elif mode in ('RGBA', 'RGBa'):
        notes.append('alpha dropped')
    elif mode != 'RGB':
        notes.append(f'{mode} -> RGB')
    if mode != 'RGB':
        img = img.convert('RGB')
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)), notes


def decode_image(
        path: str,
        max_pixels: int = DEFAULT_MAX_PIXELS) -> Tuple[np.ndarray, List[str]]:
    """Decode ``path`` to (H, W, 3) uint8 RGB; raise ImageDecodeError with a reason.

    Returns the image and the list of conversions applied (e.g.
    ``['CMYK -> RGB']``). Truncated data is an error, never a silently
    half-grey image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not osp.isfile(path):
        raise ImageDecodeError('file not found')
    if osp.getsize(path) == 0:
        raise ImageDecodeError('empty file (0 bytes)')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ImageDecodeError(f'too large: {e}') from None
    except UnidentifiedImageError:
        raise ImageDecodeError(
            'not a decodable image (unknown format or corrupt header)'
        ) from None
    except OSError as e:
        raise ImageDecodeError(f'unreadable: {e}') from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise ImageDecodeError(
                f'too large: {w}x{h} = {w * h} pixels > max_pixels '
                f'{max_pixels} (raise --max-pixels and set --max-side to '
                f'process it downscaled)')
        if w < 1 or h < 1:
            raise ImageDecodeError(f'empty image ({w}x{h})')
        try:
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            oriented = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageDecodeError(
                f'truncated or corrupt image data: {e}') from None
        notes = ['EXIF orientation applied'] if orientation not in (1, None) \
            else []
        rgb, conv = _to_rgb_uint8(oriented)
    return rgb, notes + conv


__all__ = ['DEFAULT_MAX_PIXELS', 'ImageDecodeError', 'decode_image']

"""Decoding an image: one convention for the boxes and the pixels (``docs/method.md`` section 1.7).

The reference decodes every image, for its proposals and for training, with
``PIL.Image.open(f).convert('RGB')``: Pillow's conversion of each mode
(grayscale and palette replicated, CMYK by Pillow's formula, alpha dropped,
16-bit and 32-bit samples clipped to 255) and the EXIF orientation tag
ignored, so an image is used in its stored frame. :func:`pil_to_rgb` is that
conversion, used by offline proposal generation (:func:`decode_image`) and by
the training loader (``LoadImageWithPIL``, :func:`decode_bytes`), so the
boxes of a store and the pixels of training are in one frame.
``exif_orientation=True`` rotates by the EXIF tag first (what mmcv's
``LoadImageFromFile`` does by default); the store records which convention
its boxes were computed in (``meta.json``: ``exif_orientation``).

An image of more than ``max_pixels`` pixels is refused from its header alone,
before decoding (a decompression-bomb guard of the offline tool).
"""
import io
import os.path as osp
import warnings
from typing import List, Optional, Tuple

import numpy as np

#: Images above this many pixels are refused (not decoded) by default.
DEFAULT_MAX_PIXELS = 40_000_000
#: The EXIF tag holding the orientation (1 upright, 2-8 flips / rotations).
EXIF_ORIENTATION_TAG = 0x0112
#: Orientations that swap width and height (90-degree rotations).
TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)

#: Decode note of each PIL mode converted to RGB (the summary's counts).
_MODE_NOTES = {
    'L': 'grayscale -> RGB',
    '1': 'grayscale -> RGB',
    'LA': 'grayscale -> RGB, alpha dropped',
    'P': 'palette -> RGB',
    'PA': 'palette -> RGB',
    'CMYK': 'CMYK -> RGB',
    'RGBA': 'alpha dropped',
    'RGBa': 'alpha dropped',
    'I': '32-bit -> 8-bit (clipped at 255, as PIL converts)',
    'F': '32-bit float -> 8-bit (clipped at 255, as PIL converts)',
}


class ImageDecodeError(Exception):
    """An image file cannot be used; the message is the reason listed."""


def _read_orientation(img) -> Optional[int]:
    """The EXIF orientation of an open PIL image (1 when absent), None when
    its EXIF block cannot be read."""
    try:
        return int(img.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds here
        return None


def exif_orientation_of(img) -> int:
    """The EXIF orientation of an open PIL image (1 when absent or
    unreadable: such an image is not turned, and :func:`pil_to_rgb` notes
    it)."""
    orientation = _read_orientation(img)
    return 1 if orientation is None else orientation


def pil_to_rgb(img,
               exif_orientation: bool = False) -> Tuple[np.ndarray, List[str]]:
    """An open PIL image -> (H, W, 3) uint8 RGB and the conversions made.

    ``img.convert('RGB')`` for every mode but RGB, as the reference; with
    ``exif_orientation`` the image is first turned upright by its EXIF tag.
    """
    from PIL import ImageOps
    notes = []
    orientation = _read_orientation(img) if exif_orientation else 1
    if orientation is None:
        notes.append('EXIF unreadable: not turned upright')
    elif orientation != 1:
        img = ImageOps.exif_transpose(img)
        notes.append('EXIF orientation applied')
    mode = img.mode
    if mode != 'RGB':
        notes.append(
            '16-bit -> 8-bit (clipped at 255, as PIL converts)' if mode.
            startswith('I;16') else _MODE_NOTES.get(mode, f'{mode} -> RGB'))
        img = img.convert('RGB')
    return np.asarray(img, dtype=np.uint8), notes


def decode_bytes(content: bytes, exif_orientation: bool = False) -> np.ndarray:
    """Encoded image bytes -> (H, W, 3) uint8 RGB in the given convention.

    The training loader's decode; errors are Pillow's (the dataset's
    ``on_bad_image`` handles them).
    """
    from PIL import Image
    with Image.open(io.BytesIO(content)) as img:
        rgb, _ = pil_to_rgb(img, exif_orientation)
    return rgb


def header_size(path: str,
                exif_orientation: bool = False,
                backend_args: Optional[dict] = None) -> Tuple[int, int]:
    """(W, H) of an image file in the given convention, from its header only.

    With ``exif_orientation`` the sizes of orientations 5-8 (90-degree
    rotations) are swapped, as decoding would. ``backend_args``: mmengine's
    file backend arguments, as the loader's. A local file is opened and
    Pillow reads only its header (and EXIF block); mmengine's other backends
    (HTTP, Petrel, ...) fetch whole objects only, so there the whole file is
    read.
    """
    from mmengine.fileio import get_file_backend
    from mmengine.fileio.backends import LocalBackend
    from PIL import Image
    backend = get_file_backend(
        path, backend_args=backend_args, enable_singleton=True)
    source = path if isinstance(backend, LocalBackend) else io.BytesIO(
        backend.get(path))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        with Image.open(source) as img:
            w, h = img.size
            if exif_orientation and \
                    exif_orientation_of(img) in TRANSPOSING_ORIENTATIONS:
                return h, w
    return w, h


def decode_image(
        path: str,
        max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
        exif_orientation: bool = False) -> Tuple[np.ndarray, List[str]]:
    """Decode ``path`` to (H, W, 3) uint8 RGB; raise ImageDecodeError with a reason.

    Returns the image and the list of conversions applied (e.g.
    ``['CMYK -> RGB']``). Truncated data is an error, never a silently
    half-grey image.
    """
    from PIL import Image, UnidentifiedImageError

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
        if max_pixels is not None and w * h > max_pixels:
            raise ImageDecodeError(
                f'too large: {w}x{h} = {w * h} pixels > max_pixels '
                f'{max_pixels} (raise --max-pixels and set --max-side to '
                f'process it downscaled)')
        if w < 1 or h < 1:
            raise ImageDecodeError(f'empty image ({w}x{h})')
        try:
            img.load()
            return pil_to_rgb(img, exif_orientation)
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageDecodeError(
                f'truncated or corrupt image data: {e}') from None


__all__ = [
    'DEFAULT_MAX_PIXELS', 'EXIF_ORIENTATION_TAG', 'TRANSPOSING_ORIENTATIONS',
    'ImageDecodeError', 'exif_orientation_of', 'pil_to_rgb', 'decode_bytes',
    'header_size', 'decode_image'
]

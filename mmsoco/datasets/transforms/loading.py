"""LoadImageWithPIL: images decoded as the reference does (``docs/method.md`` section 1.7).

The decoding itself is :mod:`mmsoco.proposals.decode`, shared with offline
proposal generation, so the pixels of training and the boxes of a store are in
one frame. :func:`loader_exif_orientation` tells, for any loading step (this
one or mmcv's ``LoadImageFromFile``), which convention it decodes in; the
dataset compares it with its proposal store's at start.
"""
from typing import Optional

import cv2
from mmcv.transforms import BaseTransform
from mmengine.fileio import get as get_bytes

from mmsoco.proposals.decode import ImageDecodeError, decode_bytes
from mmsoco.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageWithPIL(BaseTransform):
    """Load an image with Pillow, as the reference: ``Image.open(f).convert('RGB')``.

    SoCo (https://arxiv.org/abs/2106.02637), decoding the images:
    docs/method.md section 1.7.

    Every mode is converted to RGB by Pillow (grayscale and palette
    replicated, CMYK by Pillow's formula, alpha dropped, 16-bit samples
    clipped to 255) and, by default, the EXIF orientation tag is ignored:
    the image is used in its stored frame, the frame of the reference's
    proposals and of ``tools/generate_proposals.py``'s. mmcv's
    ``LoadImageFromFile`` (OpenCV) turns images upright by that tag instead.

    Required keys: ``img_path``.
    Added keys: ``img`` (H, W, 3) uint8 BGR (the channel order of mmcv's
    loader), ``img_shape``, ``ori_shape``, and ``exif_orientation``, the
    convention it decoded in, which ``SelectiveSearchProposals`` checks
    against its store.

    Args:
        exif_orientation (bool): Turn the image upright by its EXIF
            orientation tag first (the frame of stores generated with
            ``--exif-orientation``, and of those written before mmsoco
            recorded the convention). Defaults to False (the reference's).
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 exif_orientation: bool = False,
                 backend_args: Optional[dict] = None):
        self.exif_orientation = bool(exif_orientation)
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        img_path = results['img_path']
        content = get_bytes(img_path, self.backend_args)
        try:
            rgb = decode_bytes(content, self.exif_orientation)
        except Exception as err:  # noqa: BLE001 - Pillow raises many kinds
            # Pillow names a BytesIO, not the file.
            raise ImageDecodeError(f'image {img_path} cannot be decoded: '
                                   f'{type(err).__name__}: {err}') from err
        img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['exif_orientation'] = self.exif_orientation
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'exif_orientation={self.exif_orientation})')


#: mmcv ``LoadImageFromFile`` colour types that apply the EXIF orientation
#: (with the cv2 and pillow decoders).
_MMCV_EXIF_COLOR_TYPES = ('color', 'grayscale')
#: mmcv decoders that never apply it: ``TurboJPEG.decode`` and
#: ``tifffile.imread`` return the stored pixels (mmcv 2.1,
#: ``mmcv/image/io.py``, ``imfrombytes``).
_MMCV_DECODERS_WITHOUT_EXIF = ('turbojpeg', 'tifffile')


def mmcv_exif_orientation(color_type,
                          backend: Optional[str]) -> Optional[bool]:
    """Whether ``mmcv.imfrombytes(flag=color_type, backend=backend)`` turns
    images upright by their EXIF tag (mmcv 2.1).

    ``'cv2'`` (``cv2.imdecode``) and ``'pillow'`` (``ImageOps.exif_transpose``
    in ``_pillow2array``): for ``'color'`` and ``'grayscale'``, not for
    ``'*_ignore_orientation'`` and ``'unchanged'``; ``'turbojpeg'`` and
    ``'tifffile'``: never. ``backend=None`` is mmcv's global decoder
    (``mmcv.use_backend``). None (unknown) for anything else.
    """
    if backend is None:
        from mmcv.image import io as mmcv_io
        backend = mmcv_io.imread_backend
    if backend in _MMCV_DECODERS_WITHOUT_EXIF:
        return False
    if backend not in ('cv2', 'pillow') or not isinstance(color_type, str):
        return None
    return color_type in _MMCV_EXIF_COLOR_TYPES


def loader_exif_orientation(step) -> Optional[bool]:
    """Whether a loading step turns images upright by their EXIF tag.

    ``LoadImageWithPIL``: its ``exif_orientation``; mmcv's
    ``LoadImageFromFile``: :func:`mmcv_exif_orientation` of its
    ``color_type`` and ``imdecode_backend`` (true for its defaults); None
    for any other step (unknown).
    """
    if isinstance(step, LoadImageWithPIL):
        return step.exif_orientation
    from mmcv.transforms import LoadImageFromFile
    if isinstance(step, LoadImageFromFile):
        return mmcv_exif_orientation(step.color_type, step.imdecode_backend)
    return None

"""The proposal store's on-disk format and its validity rules (``docs/method.md`` section 1.4).

Shared by the reader (:mod:`mmsoco.proposals.store`, what training imports)
and the writers (:mod:`mmsoco.proposals.store_writer`,
:mod:`mmsoco.proposals.store_exchange`): file names, format version, and
the box checks both sides apply.

The reference keeps every image's boxes in one 1.1 GB JSON that each data-loader
worker ``json.load``\\ s whole. Here they live in a directory of flat arrays
that are mapped or read on demand, so opening is O(1) (about a millisecond for
ImageNet), the pages are shared by every worker through the page cache, and a
lookup touches only the bytes it needs (``benchmarks/README.md``)::

    proposals.store/
      meta.json         format version, counts, box dtype, the decoding
                        convention (``exif_orientation``), the key form
                        (``key_form``), generation params
      keys.bin          the sorted keys (relative image paths), UTF-8, concatenated
      key_offsets.npy   (K + 1,) int64, key ``i`` is ``keys.bin[o[i]:o[i + 1]]``
      box_offsets.npy   (K + 1,) int64, image ``i``'s boxes are rows ``o[i]:o[i + 1]``
      boxes.npy         (B, 4) x1y1x2y2, original pixels, x2/y2 exclusive;
                        uint16 when every coordinate is an integer < 65536
                        (selective-search boxes are), else float32
      sizes.npy         (K, 2) int32 image (W, H) in the store's decoding
                        convention, (-1, -1) where unknown (e.g. imported
                        without images)

Keys are :func:`mmsoco.utils.image_files.image_key` of each image
(``key_form`` ``'relpath'``), or, for a reference JSON imported without an
image root, its file stems (``'stem'``) or names (``'basename'``).

The boxes and sizes are in the frame of the image as decoded
(:mod:`mmsoco.proposals.decode`): ``exif_orientation`` false (the reference's
and the recipes' convention) means the EXIF orientation tag was ignored, true
that the image was turned upright by it first. Stores written before the
convention was recorded have no such entry: see
:func:`store_exif_orientation`.
Box convention: pixel ``i`` covers ``[i, i + 1)``; a box whose last pixel column
is ``max_x`` has ``x2 = max_x + 1`` (see ``mmsoco.structures.boxes``).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmsoco.utils.image_files import KEY_FORMS, normalize_key

FORMAT_VERSION = 1
STORE_FILES = ('meta.json', 'keys.bin', 'key_offsets.npy', 'box_offsets.npy',
               'boxes.npy', 'sizes.npy')
UNKNOWN_SIZE = (-1, -1)
#: How many offending images an error message names.
MAX_NAMED = 5


class ProposalStoreError(ValueError):
    """A store (or the data to write into one) is malformed or incomplete."""


def store_exif_orientation(meta: dict) -> bool:
    """Whether a store's boxes were computed on EXIF-rotated images.

    ``meta`` is the store's ``meta.json``. Stores written before the
    convention was recorded: generated ones decoded with the EXIF orientation
    applied (true), imported reference JSONs hold the reference's boxes,
    computed without it (false); but those imported with an image root hold
    sizes read EXIF-rotated (:func:`is_legacy_reference_import`), which
    :class:`~mmsoco.proposals.store.ProposalStore` refuses.
    """
    if 'exif_orientation' in meta:
        return bool(meta['exif_orientation'])
    return (meta.get('meta') or {}).get('source_format') != 'reference_json'


def is_legacy_reference_import(meta: dict) -> bool:
    """A reference JSON imported before the convention was recorded.

    Its boxes are the reference's (EXIF orientation ignored), but the
    importer of that time, given an image root, read each image's size with
    the EXIF orientation applied (width and height swapped for orientations
    5-8): with sizes, such a store is in two frames at once.
    """
    return 'exif_orientation' not in meta and (
        meta.get('meta') or {}).get('source_format') == 'reference_json'


def legacy_import_message(path: str, meta: dict) -> str:
    """Why a legacy reference import with sizes is refused, and the command
    that writes it again."""
    source = (meta.get('meta') or {}).get('source') or 'REFERENCE.json'
    out_dir = (
        osp.dirname(osp.abspath(path))
        if osp.basename(osp.normpath(path)) == 'store' else 'OUT_DIR')
    return (
        f'{path} was imported from the reference JSON with an image root by '
        'an mmsoco that did not record the decoding convention yet: its boxes '
        'are the reference\'s (EXIF orientation ignored) but its image sizes '
        'were read with the EXIF orientation applied (width and height '
        'swapped for orientations 5-8), so a rotated image would be checked '
        'against the wrong size. Import it again with today\'s tool: python '
        f'tools/generate_proposals.py IMG_ROOT {out_dir} --import-reference '
        f'{source} (it replaces {out_dir}/store)')


def store_key_form(meta: dict) -> str:
    """The form of a store's keys (:data:`KEY_FORMS`); ``'relpath'`` for
    stores that do not record it."""
    return meta.get('key_form', 'relpath')


def invalid_box_reason(boxes: np.ndarray, size: Tuple[int,
                                                      int]) -> Optional[str]:
    """Why ``boxes`` (N, 4) of an image of ``size`` (W, H) are invalid, or None.

    Invalid: not (N, 4), NaN/inf, negative, empty (x2 <= x1 or y2 <= y1), or,
    when the size is known, beyond the image (x2 > W or y2 > H).
    """
    boxes = np.asarray(boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return f'boxes have shape {boxes.shape}, expected (N, 4)'
    if boxes.size == 0:
        return None
    if not np.isfinite(boxes).all():
        return 'NaN or infinite coordinate'
    if (boxes < 0).any():
        return f'negative coordinate (min {boxes.min():g})'
    if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
        return 'empty box (x2 <= x1 or y2 <= y1)'
    w, h = int(size[0]), int(size[1])
    if w >= 0 and h >= 0:
        if boxes[:, 2].max() > w or boxes[:, 3].max() > h:
            return (f'box out of bounds (max x2 {boxes[:, 2].max():g}, '
                    f'max y2 {boxes[:, 3].max():g}) for image size {w}x{h}')
    return None


def named(keys: Sequence[str]) -> str:
    """The first :data:`MAX_NAMED` of ``keys``, quoted, and how many more:
    how every error names the images it is about."""
    more = (f' (and {len(keys) - MAX_NAMED} more)'
            if len(keys) > MAX_NAMED else '')
    return ', '.join(repr(k) for k in keys[:MAX_NAMED]) + more


def name_offenders(what: str, offenders: List[Tuple[str, str]],
                   total: int) -> str:
    named = '; '.join(f'{k!r}: {r}' for k, r in offenders[:MAX_NAMED])
    more = f' (and {total - MAX_NAMED} more)' if total > MAX_NAMED else ''
    return f'{what}: {named}{more}'


def bad_box_mask(boxes: np.ndarray, widths: np.ndarray,
                 heights: np.ndarray) -> np.ndarray:
    """(B,) True for boxes that :func:`invalid_box_reason` would reject.

    ``widths``/``heights`` are the (B,) sizes of each box's image, negative
    when unknown. Vectorised, for whole stores.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    with np.errstate(invalid='ignore'):
        return (~np.isfinite(boxes).all(1) | (boxes < 0).any(1)
                | (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
                | ((widths >= 0) & (boxes[:, 2] > widths))
                | ((heights >= 0) & (boxes[:, 3] > heights)))


def find_invalid_images(boxes: np.ndarray,
                        box_offsets: np.ndarray,
                        sizes: np.ndarray,
                        block: int = 1 << 22) -> np.ndarray:
    """Sorted indices of the images owning an invalid box.

    Works through ``boxes`` in blocks of ``block`` rows, so a memory-mapped
    store of any size is checked in bounded memory.
    """
    box_offsets = np.asarray(box_offsets, dtype=np.int64)
    if (np.diff(box_offsets) < 0).any():
        raise ProposalStoreError('box offsets decrease')
    sizes = np.asarray(sizes)
    bad = []
    for start in range(0, len(boxes), block):
        stop = min(start + block, len(boxes))
        # Image of each box row: the last offset <= row.
        owner = np.searchsorted(
            box_offsets, np.arange(start, stop), side='right') - 1
        mask = bad_box_mask(boxes[start:stop], sizes[owner, 0], sizes[owner,
                                                                      1])
        bad.append(np.unique(owner[mask]))
    return np.unique(np.concatenate(bad)) if bad else np.zeros(0, np.int64)


__all__ = [
    'FORMAT_VERSION', 'STORE_FILES', 'UNKNOWN_SIZE', 'KEY_FORMS', 'MAX_NAMED',
    'ProposalStoreError', 'normalize_key', 'store_exif_orientation',
    'is_legacy_reference_import', 'legacy_import_message', 'store_key_form',
    'named', 'invalid_box_reason', 'name_offenders', 'bad_box_mask',
    'find_invalid_images'
]

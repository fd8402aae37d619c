"""Writing a proposal store (``docs/method.md`` section 1.4).

The offline side of :mod:`mmsoco.proposals.store`: validates every box, then
builds the store in a temporary sibling folder and renames it into place.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np

from mmsoco.utils.atomic_files import atomic_open, make_public, replace_folder
from .store_format import (FORMAT_VERSION, KEY_FORMS, MAX_NAMED, UNKNOWN_SIZE,
                           ProposalStoreError, find_invalid_images,
                           invalid_box_reason, name_offenders, normalize_key)


def write_store_arrays(path: str,
                       keys: Sequence[str],
                       box_offsets: np.ndarray,
                       boxes: np.ndarray,
                       sizes: np.ndarray,
                       meta: Optional[dict] = None,
                       overwrite: bool = False,
                       exif_orientation: bool = False,
                       key_form: str = 'relpath') -> str:
    """Write a store from its arrays (the bulk form of :func:`write_store`).

    ``keys`` must be sorted and unique; image ``i`` owns
    ``boxes[box_offsets[i]:box_offsets[i + 1]]``; ``sizes`` is (K, 2) (W, H).
    ``exif_orientation`` records the decoding convention the boxes and sizes
    are in (false: EXIF orientation ignored, the reference's), ``key_form``
    what the keys are (``store_format.KEY_FORMS``).
    Every box is validated first and nothing is written if one is bad (the
    error names the first offending images). The store is built in a
    temporary sibling directory and renamed into place, so ``path`` is either
    absent, the old store, or the complete new one.
    """
    path = osp.abspath(path)
    if key_form not in KEY_FORMS:
        raise ValueError(f'key_form must be one of {KEY_FORMS}, got '
                         f'{key_form!r}')
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'{path} exists; pass overwrite=True to replace')
    keys = [normalize_key(str(k)) for k in keys]
    if any(a >= b for a, b in zip(keys, keys[1:])):
        dupes = [(a, 'listed twice') for a, b in zip(keys, keys[1:]) if a == b]
        if dupes:
            raise ProposalStoreError(
                name_offenders('duplicate keys', dupes, len(dupes)))
        raise ProposalStoreError('keys must be sorted')
    box_offsets = np.asarray(box_offsets, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int32).reshape(-1, 2)
    boxes = np.asarray(boxes).reshape(-1, 4)
    if box_offsets.shape != (len(keys) + 1, ) or box_offsets[0] != 0 or \
            box_offsets[-1] != len(boxes) or len(sizes) != len(keys):
        raise ProposalStoreError(
            'keys, box_offsets, boxes and sizes do not match')
    bad = find_invalid_images(boxes, box_offsets, sizes)
    if len(bad):
        offenders = [
            (keys[i],
             invalid_box_reason(boxes[box_offsets[i]:box_offsets[i + 1]],
                                tuple(sizes[i]))) for i in bad[:MAX_NAMED]
        ]
        raise ProposalStoreError(
            name_offenders('invalid proposals', offenders, len(bad)))
    # Selective-search boxes are whole pixels: uint16 halves the store.
    if boxes.dtype != np.uint16:
        boxes = boxes.astype(np.float32)
        if boxes.size and boxes.max() < 65536 and \
                np.array_equal(boxes, np.round(boxes)):
            boxes = boxes.astype(np.uint16)
    encoded = [k.encode('utf-8') for k in keys]
    key_offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=key_offsets[1:])

    parent = osp.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + osp.basename(path) + '.', dir=parent)
    try:
        with atomic_open(osp.join(tmp, 'keys.bin')) as f:
            f.write(b''.join(encoded))
        for name, array in (('key_offsets.npy',
                             key_offsets), ('box_offsets.npy', box_offsets),
                            ('boxes.npy', boxes), ('sizes.npy', sizes)):
            with atomic_open(osp.join(tmp, name)) as f:
                np.save(f, array)
        full_meta = dict(
            format_version=FORMAT_VERSION,
            num_images=len(keys),
            num_boxes=int(box_offsets[-1]),
            box_dtype=str(boxes.dtype),
            box_convention='x1y1x2y2, original image pixels, x2/y2 exclusive',
            exif_orientation=bool(exif_orientation),
            key_form=key_form,
            meta=meta or {})
        with atomic_open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(full_meta, f, indent=2)
        make_public(tmp)  # mkdtemp made it 0700
        replace_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def write_store(path: str,
                items: Iterable[Tuple[str, np.ndarray, Tuple[int, int]]],
                meta: Optional[dict] = None,
                overwrite: bool = False,
                exif_orientation: bool = False,
                key_form: str = 'relpath') -> str:
    """Write ``(key, boxes (N, 4) x1y1x2y2, (W, H))`` items as a store at ``path``.

    Items may come in any order; duplicate keys and bad boxes
    (:func:`invalid_box_reason`) are refused with the first offending images
    named, and nothing is written. ``(W, H) = (-1, -1)`` (or None) marks an
    unknown size. Written atomically, see :func:`write_store_arrays` (which
    also says what ``exif_orientation`` and ``key_form`` record).
    """
    boxes_of, size_of = {}, {}
    duplicates = []
    for key, boxes, size in items:
        key = normalize_key(str(key))
        boxes = np.asarray(boxes, dtype=np.float32)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ProposalStoreError(
                f'{key!r}: boxes have shape {boxes.shape}, expected (N, 4)')
        size = UNKNOWN_SIZE if size is None else (int(size[0]), int(size[1]))
        if key in boxes_of:
            duplicates.append((key, 'listed twice'))
        boxes_of[key], size_of[key] = boxes, size
    if duplicates:
        raise ProposalStoreError(
            name_offenders('duplicate keys', duplicates, len(duplicates)))
    keys = sorted(boxes_of)
    box_offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(boxes_of[k]) for k in keys], out=box_offsets[1:])
    boxes = (
        np.concatenate([boxes_of[k] for k in keys]) if keys else np.zeros(
            (0, 4), np.float32))
    sizes = np.array([size_of[k] for k in keys], np.int32).reshape(-1, 2)
    return write_store_arrays(path, keys, box_offsets, boxes, sizes, meta,
                              overwrite, exif_orientation, key_form)


__all__ = ['write_store', 'write_store_arrays']

"""Importing and exporting proposal stores (``docs/method.md`` section 1.4).

The interchange formats:

    * Reference JSON ``{stem: [[x, y, w, h], ...]}``: the authors' files are
      keyed by file stem (their writer takes ``os.path.splitext(file_name)[0]``,
      their loader looks up the file name cut at its first dot; the same for
      ImageNet's names) and hold boxes with ``w = max_x - min_x`` (their
      selective search), computed on images decoded without EXIF orientation.
      Our mapping is ``x1 = x, y1 = y, x2 = x + w + 1, y2 = y + h + 1``
      (= ``max + 1``, exclusive); export is the inverse and writes stems.
      (The reference's own loader uses ``x2 = x + w - 1``, two pixels short
      of the region's exclusive right edge.) Import also takes file names
      with their extension (what mmsoco exported before).
    * COCO results JSON: a list of ``{"image_id", "bbox": [x, y, w, h],
      "score"}`` in COCO's continuous convention (``x2 = x + w``), with the
      dataset's COCO annotation file giving ``file_name``, ``width`` and
      ``height`` per ``image_id``. Boxes of an image are stored by score,
      highest first.
"""
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np

from mmsoco.utils.atomic_files import atomic_write_text
from mmsoco.utils.image_files import (IMAGE_EXTENSIONS, key_basename, key_stem,
                                      list_image_folder, load_coco_json,
                                      read_json)
from mmsoco.utils.progress import track
from .decode import header_size
from .store import ProposalStore
from .store_format import (MAX_NAMED, UNKNOWN_SIZE, ProposalStoreError,
                           name_offenders, named)
from .store_writer import write_store


def reference_xywh_to_xyxy(rects: np.ndarray) -> np.ndarray:
    """Reference JSON rects (x, y, w = max_x - min_x, h) -> exclusive x1y1x2y2."""
    rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    out = rects.copy()
    out[:, 2] = rects[:, 0] + rects[:, 2] + 1
    out[:, 3] = rects[:, 1] + rects[:, 3] + 1
    return out.astype(np.float32)


def xyxy_to_reference_xywh(boxes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`reference_xywh_to_xyxy`."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = boxes.copy()
    out[:, 2] = boxes[:, 2] - boxes[:, 0] - 1
    out[:, 3] = boxes[:, 3] - boxes[:, 1] - 1
    return out


def _write_imported(out_path: str,
                    items,
                    source: str,
                    source_format: str,
                    overwrite: bool,
                    total: int,
                    progress: Optional[bool] = None,
                    **store_kwargs) -> str:
    """A store of imported ``items``, its meta naming where they came from."""
    meta = dict(source=osp.abspath(source), source_format=source_format)
    items = track(
        items,
        desc=f'importing {source}',
        unit='img',
        total=total,
        enabled=progress)
    return write_store(
        out_path, items, overwrite=overwrite, meta=meta, **store_kwargs)


def _load_json(path: str, kind: type, expected: str):
    """The content of a JSON file, refused naming the file unless ``kind``."""
    try:
        data = read_json(path)
    except ValueError as err:
        raise ProposalStoreError(str(err)) from None
    if not isinstance(data, kind):
        raise ProposalStoreError(
            f'{path}: expected {expected}, got {type(data).__name__}')
    return data


def _names_under(img_root: str) -> Dict[str, List[str]]:
    """``file name -> keys`` and ``file stem -> keys`` of every image under
    ``img_root`` (one dict: a name with its extension never equals a stem of
    the same image)."""
    found = defaultdict(list)
    for key in list_image_folder(img_root):
        found[key_basename(key)].append(key)
        stem = key_stem(key)
        if stem != key_basename(key):
            found[stem].append(key)
    return found


def resolve_reference_names(names, img_root: str,
                            json_path: str) -> Dict[str, str]:
    """``reference JSON key -> relative path`` of each key under ``img_root``.

    A key is an image's file stem (the authors' files) or file name; one that
    matches no image, or several (``a/x.jpg`` and ``b/x.png`` share the stem
    ``x``), is an error naming them.
    """
    under = _names_under(img_root)
    resolved, missing, ambiguous = {}, [], []
    for name in names:
        keys = under.get(name, [])
        if len(keys) == 1:
            resolved[name] = keys[0]
        elif keys:
            ambiguous.append((name, 'matches ' + ', '.join(keys[:3])))
        else:
            missing.append(name)
    if missing:
        raise ProposalStoreError(
            f'{len(missing)} image(s) of {json_path} are not under '
            f'{img_root}: ' + named(missing) +
            ' (its keys are file stems or names of the images the proposals '
            'were computed on: pass the folder that holds them as IMG_ROOT)')
    if ambiguous:
        raise ProposalStoreError(
            f'{json_path} is keyed by file stem, which names several images '
            f'under {img_root}: ' +
            name_offenders('ambiguous keys', ambiguous, len(ambiguous)) +
            '; rename or move the images that share a stem')
    return resolved


def _reference_key_form(names) -> str:
    """``'basename'`` when every key ends in an image extension, else
    ``'stem'`` (the authors' files)."""
    names = list(names)
    if names and all(n.lower().endswith(IMAGE_EXTENSIONS) for n in names):
        return 'basename'
    return 'stem'


def import_reference_json(json_path: str,
                          out_path: str,
                          img_root: Optional[str] = None,
                          overwrite: bool = False,
                          progress: Optional[bool] = None) -> str:
    """Convert the reference's ``{stem: [[x, y, w, h], ...]}`` into a store.

    With ``img_root``, each key (a file stem, or a file name) is mapped to its
    relative path under ``img_root`` and the image size is read from its
    header, so boxes are validated against the image bounds; a key with no
    image, or with several, under the root is an error naming it. Without
    ``img_root`` the keys stay as they are (the store's ``key_form`` says
    ``'stem'`` or ``'basename'``, which ``SelectiveSearchProposals`` then
    looks up) and sizes are unknown (bounds are then checked when the
    transform loads each image). Either way the store records the
    reference's decoding convention: EXIF orientation ignored.
    """
    data = _load_json(json_path, dict,
                      'a JSON object {stem: [[x, y, w, h], ...]}')
    lookup = (
        resolve_reference_names(data, img_root, json_path)
        if img_root is not None else None)

    def items():
        for name, rects in data.items():
            boxes = reference_xywh_to_xyxy(np.asarray(rects, np.float64))
            if lookup is None:
                yield name, boxes, UNKNOWN_SIZE
            else:
                rel = lookup[name]
                yield rel, boxes, header_size(osp.join(img_root, rel))

    return _write_imported(
        out_path,
        items(),
        json_path,
        'reference_json',
        overwrite,
        len(data),
        progress,
        exif_orientation=False,
        key_form='relpath'
        if lookup is not None else _reference_key_form(data))


def export_reference_json(store: ProposalStore,
                          json_path: str,
                          progress: Optional[bool] = None) -> str:
    """Write a store as the reference's ``{stem: [[x, y, w, h], ...]}``.

    Keys are file stems, as the authors' files; images that share a stem
    (``a/x.jpg``, ``b/x.png``) cannot be told apart there and are refused,
    named, before anything is written.
    """
    out, owner, clashes = {}, {}, []
    for key, boxes, _ in track(
            store.items(),
            desc=f'exporting {store.path}',
            unit='img',
            total=len(store),
            enabled=progress):
        stem = key if store.key_form == 'stem' else key_stem(key)
        if stem in owner:
            clashes.append((stem, f'{owner[stem]!r} and {key!r}'))
            continue
        owner[stem] = key
        rects = xyxy_to_reference_xywh(boxes)
        out[stem] = [[_num(v) for v in r] for r in rects]
    if clashes:
        raise ProposalStoreError(
            f'{store.path}: the reference JSON is keyed by file stem and ' +
            name_offenders('these images share one', clashes, len(clashes)))
    atomic_write_text(json_path, json.dumps(out))
    return json_path


def _num(v: float):
    """Integers as ints (the reference's rects are integral), others as floats."""
    return int(v) if float(v).is_integer() else float(v)


def import_coco_results(results_json: str,
                        ann_file: str,
                        out_path: str,
                        overwrite: bool = False,
                        exif_orientation: bool = False,
                        progress: Optional[bool] = None) -> str:
    """Convert COCO-results proposals (``[{image_id, bbox, score}]``) into a store.

    ``ann_file`` is the dataset's COCO annotation file: keys are its images'
    ``file_name`` and sizes its ``width``/``height``. Every annotated image
    gets an entry (possibly with no boxes); a result whose ``image_id`` is not
    in ``ann_file`` is an error naming it. ``exif_orientation`` records
    whether the boxes were computed on EXIF-rotated images (as mmdet's
    default loader decodes) or not (the SoCo recipes' convention).
    """
    images = {
        im['id']: im
        for im in load_coco_json(ann_file, required=('images', ))['images']
    }
    unsized = [
        im['file_name'] for im in images.values()
        if 'width' not in im or 'height' not in im
    ]
    if unsized:
        raise ProposalStoreError(
            f'{ann_file}: image(s) without "width" / "height" (the store '
            f'records each image\'s size): {named(unsized)}')
    results = _load_json(
        results_json, list, 'a COCO results list [{"image_id", "bbox", '
        '"score"}, ...]')
    per_image = {i: [] for i in images}
    unknown = []
    for i, r in enumerate(results):
        if not isinstance(r, dict) or 'image_id' not in r or 'bbox' not in r:
            raise ProposalStoreError(
                f'{results_json}: entry {i} is not a COCO result '
                f'{{"image_id", "bbox", "score"}}: {r!r:.200}')
        if r['image_id'] not in per_image:
            unknown.append(r['image_id'])
            continue
        per_image[r['image_id']].append((r.get('score', 0.0), r['bbox']))
    if unknown:
        raise ProposalStoreError(
            f'{results_json}: image_id(s) not in {ann_file}: '
            f'{sorted(set(unknown))[:MAX_NAMED]}')

    def items():
        for image_id, entries in per_image.items():
            im = images[image_id]
            # Highest score first; stable, so ties keep file order.
            entries.sort(key=lambda e: -e[0])
            xywh = np.asarray([b for _, b in entries],
                              np.float64).reshape(-1, 4)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                                   axis=1)
            yield im['file_name'], boxes, (im['width'], im['height'])

    return _write_imported(
        out_path,
        items(),
        results_json,
        'coco_results',
        overwrite,
        len(per_image),
        progress,
        exif_orientation=exif_orientation)


def export_coco_results(store: ProposalStore,
                        ann_file: str,
                        results_json: str,
                        progress: Optional[bool] = None) -> str:
    """Write a store as COCO results, ``score`` falling with the box's rank."""
    images = load_coco_json(ann_file, required=('images', ))['images']
    keys = [store.key_for(im['file_name']) for im in images]
    store.check_keys(keys, source=ann_file)
    out = []
    for im, key in track(
            list(zip(images, keys)),
            desc=f'exporting {store.path}',
            unit='img',
            enabled=progress):
        boxes = store[key].astype(np.float64)
        n = len(boxes)
        for rank, b in enumerate(boxes):
            out.append(
                dict(
                    image_id=im['id'],
                    bbox=[
                        _num(b[0]),
                        _num(b[1]),
                        _num(b[2] - b[0]),
                        _num(b[3] - b[1])
                    ],
                    score=float(n - rank) / n))
    atomic_write_text(results_json, json.dumps(out))
    return results_json


__all__ = [
    'resolve_reference_names', 'import_reference_json',
    'export_reference_json', 'import_coco_results', 'export_coco_results',
    'reference_xywh_to_xyxy', 'xyxy_to_reference_xywh'
]

"""Importing and exporting proposal stores (``docs/method.md`` section 1.4).

The interchange formats:

    * Reference JSON ``{basename: [[x, y, w, h], ...]}`` with ``w = max_x - min_x``
      (the reference's selective search). Our mapping is ``x1 = x, y1 = y,
      x2 = x + w + 1, y2 = y + h + 1`` (= ``max + 1``, exclusive); export is
      the inverse. (The reference's own loader uses ``x2 = x + w - 1``, two
      pixels short of the region's exclusive right edge.)
    * COCO results JSON: a list of ``{"image_id", "bbox": [x, y, w, h],
      "score"}`` in COCO's continuous convention (``x2 = x + w``), with the
      dataset's COCO annotation file giving ``file_name``, ``width`` and
      ``height`` per ``image_id``. Boxes of an image are stored by score,
      highest first.
"""
import json
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np

from mmsoco.utils.atomic_files import atomic_write_text
from mmsoco.utils.image_files import list_image_folder
from mmsoco.utils.progress import track
from .store import ProposalStore
from .store_format import MAX_NAMED, UNKNOWN_SIZE, ProposalStoreError
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
                    progress: Optional[bool] = None) -> str:
    """A store of imported ``items``, its meta naming where they came from."""
    meta = dict(source=osp.abspath(source), source_format=source_format)
    items = track(
        items,
        desc=f'importing {source}',
        unit='img',
        total=total,
        enabled=progress)
    return write_store(out_path, items, overwrite=overwrite, meta=meta)


def _load_json(path: str, kind: type, expected: str):
    """The content of a JSON file, refused naming the file unless ``kind``."""
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, kind):
        raise ProposalStoreError(
            f'{path}: expected {expected}, got {type(data).__name__}')
    return data


def _basename_lookup(img_root: str) -> Dict[str, str]:
    """``basename -> key`` of every image under ``img_root``."""
    found, dupes = {}, []
    for key in list_image_folder(img_root):
        name = key.rsplit('/', 1)[-1]
        if name in found:
            dupes.append(name)
        found[name] = key
    if dupes:
        raise ProposalStoreError(
            f'basenames are not unique under {img_root} (e.g. {dupes[0]!r}); '
            f'the reference JSON is keyed by basename and cannot be mapped')
    return found


def _image_size(path: str) -> Tuple[int, int]:
    """(W, H) of an image file after EXIF orientation, reading only its header."""
    from PIL import Image
    with Image.open(path) as img:
        w, h = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:  # noqa: BLE001 - unreadable EXIF: no rotation
            orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def import_reference_json(json_path: str,
                          out_path: str,
                          img_root: Optional[str] = None,
                          overwrite: bool = False,
                          progress: Optional[bool] = None) -> str:
    """Convert the reference's ``{basename: [[x, y, w, h], ...]}`` into a store.

    With ``img_root``, each basename is mapped to its relative path under
    ``img_root`` and the image size is read from its header, so boxes are
    validated against the image bounds; a basename with no image under the
    root is an error naming it. Without ``img_root`` the keys stay the
    basenames and sizes are unknown (bounds are then checked when the
    transform loads each image).
    """
    data = _load_json(json_path, dict,
                      'a JSON object {basename: [[x, y, w, h], ...]}')
    lookup = _basename_lookup(img_root) if img_root is not None else None
    if lookup is not None:
        missing = [k for k in data if k not in lookup]
        if missing:
            raise ProposalStoreError(
                f'{len(missing)} image(s) of {json_path} are not under '
                f'{img_root}, e.g. ' +
                ', '.join(map(repr, missing[:MAX_NAMED])))

    def items():
        for name, rects in data.items():
            boxes = reference_xywh_to_xyxy(np.asarray(rects, np.float64))
            if lookup is None:
                yield name, boxes, UNKNOWN_SIZE
            else:
                rel = lookup[name]
                yield rel, boxes, _image_size(osp.join(img_root, rel))

    return _write_imported(out_path, items(), json_path, 'reference_json',
                           overwrite, len(data), progress)


def export_reference_json(store: ProposalStore,
                          json_path: str,
                          progress: Optional[bool] = None) -> str:
    """Write a store as the reference's ``{basename: [[x, y, w, h], ...]}``."""
    out = {}
    for key, boxes, _ in track(
            store.items(),
            desc=f'exporting {store.path}',
            unit='img',
            total=len(store),
            enabled=progress):
        name = key.rsplit('/', 1)[-1]
        if name in out:
            raise ProposalStoreError(
                f'basename {name!r} occurs twice in {store.path}; the '
                f'reference JSON is keyed by basename')
        rects = xyxy_to_reference_xywh(boxes)
        out[name] = [[_num(v) for v in r] for r in rects]
    atomic_write_text(json_path, json.dumps(out))
    return json_path


def _num(v: float):
    """Integers as ints (the reference's rects are integral), others as floats."""
    return int(v) if float(v).is_integer() else float(v)


def import_coco_results(results_json: str,
                        ann_file: str,
                        out_path: str,
                        overwrite: bool = False,
                        progress: Optional[bool] = None) -> str:
    """Convert COCO-results proposals (``[{image_id, bbox, score}]``) into a store.

    ``ann_file`` is the dataset's COCO annotation file: keys are its images'
    ``file_name`` and sizes its ``width``/``height``. Every annotated image
    gets an entry (possibly with no boxes); a result whose ``image_id`` is not
    in ``ann_file`` is an error naming it.
    """
    with open(ann_file) as f:
        images = {im['id']: im for im in json.load(f)['images']}
    results = _load_json(
        results_json, list, 'a COCO results list [{"image_id", "bbox", '
        '"score"}, ...]')
    per_image = {i: [] for i in images}
    unknown = []
    for r in results:
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

    return _write_imported(out_path, items(), results_json, 'coco_results',
                           overwrite, len(per_image), progress)


def export_coco_results(store: ProposalStore,
                        ann_file: str,
                        results_json: str,
                        progress: Optional[bool] = None) -> str:
    """Write a store as COCO results, ``score`` falling with the box's rank."""
    with open(ann_file) as f:
        images = json.load(f)['images']
    store.check_keys([im['file_name'] for im in images], source=ann_file)
    out = []
    for im in track(
            images, desc=f'exporting {store.path}', unit='img',
            enabled=progress):
        boxes = store[im['file_name']].astype(np.float64)
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
    'import_reference_json', 'export_reference_json', 'import_coco_results',
    'export_coco_results', 'reference_xywh_to_xyxy', 'xyxy_to_reference_xywh'
]

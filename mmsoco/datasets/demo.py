"""The embedded demo dataset: a small, deterministic COCO-format detection set.

SoCo pretrains on unlabeled images and is judged by the detector fine-tuned
afterwards (``docs/method.md`` section 5). Running that loop end to end (``make demo``, the
test suite, the small transfer study) needs images that are cheap to make,
identical on every machine, and labeled like COCO, without downloading
ImageNet or COCO. This module draws them.

The images and their records are drawn by :mod:`mmsoco.datasets.demo_drawing`
(pure functions); this module writes them, resumably. The cached copy the
demo, the configs and the tests use is kept by
:mod:`mmsoco.datasets.demo_cache`.

Layout under ``out_dir``::

    images/train/000000.jpg ...        JPEG, quality 90 by default
    images/val/000007.jpg ...
    annotations/instances_train.json   COCO: file_name relative to images/,
    annotations/instances_val.json     e.g. "train/000000.jpg"
    annotations/train_images.txt       ImageNet-style list for unlabeled use,
                                       one path relative to images/ per line
    demo_manifest.json                 written last: params, version, counts

So for MMDetection: ``data_root=out_dir``,
``ann_file='annotations/instances_train.json'``,
``data_prefix=dict(img='images/')`` and ``metainfo=DEMO_METAINFO``. Boxes are
COCO ``[x, y, w, h]`` of the mask's tight box (``w = max_x - min_x + 1``),
``area`` is the mask's pixel count, masks are compressed RLE (ring-shaped
masks have holes, which polygons cannot hold), so load them with mmdet's
default ``LoadAnnotations(poly2mask=True)``.

Determinism
    Image ``i`` is drawn from its own random stream seeded by ``(seed, i)``, so
    the same seed gives identical pixels, JPEG bytes and json bytes, and image
    ``i`` does not depend on ``num_images``. Nothing time- or path-dependent is
    written.

Atomicity and resuming
    Everything is built in a hidden sibling folder and renamed into place with
    the manifest written last; an interrupted run leaves no ``out_dir`` that
    looks complete (it leaves nothing new at ``out_dir`` at all), and the next
    run with the same arguments resumes the build where it stopped.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import shutil
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from mmsoco.utils.atomic_files import (atomic_write_image, atomic_write_json,
                                       atomic_write_text, replace_folder)
from mmsoco.utils.progress import track
from .demo_drawing import DEMO_METAINFO  # noqa: F401 (re-exported)
from .demo_drawing import (DEMO_CLASSES, IMAGE_STREAM, mask_to_coco,
                           render_demo_image, size_bucket, val_image_flags)

#: Bump when the drawing changes, so cached demo datasets are regenerated.
DEMO_VERSION = 1

MANIFEST_NAME = 'demo_manifest.json'

PathLike = Union[str, os.PathLike]


# ---------------------------------------------------------------------------
# Writing (the only functions that touch the disk).
# ---------------------------------------------------------------------------
def _write_json(path: PathLike, obj) -> None:
    atomic_write_json(os.fspath(path), obj, separators=(',', ':'))


def _read_json(path: PathLike):
    """A json file's content, None if it is absent or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_manifest(root: PathLike) -> Optional[dict]:
    """The manifest of the demo dataset at ``root``; None if absent or bad."""
    manifest = _read_json(osp.join(root, MANIFEST_NAME))
    return manifest if isinstance(manifest, dict) else None


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace anything that is not an empty folder or a demo set."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(
            f'{out_dir} exists and is not a folder; refusing to replace it '
            'with the demo dataset')
    if any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).is_file():
        raise FileExistsError(
            f'{out_dir} exists, is not empty and is not a demo dataset (no '
            f'{MANIFEST_NAME}); refusing to overwrite it. Remove it or choose '
            'another output folder.')


def validate_args(num_images, seed, min_size, max_size, val_fraction,
                  objects_per_image, min_object_size, max_object_fraction,
                  jpeg_quality) -> None:
    """Raise ``ValueError`` unless these are valid generation arguments."""

    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(num_images) or num_images < 1:
        raise ValueError(f'num_images must be an integer >= 1, got '
                         f'{num_images!r}')
    if not is_int(seed) or seed < 0:
        raise ValueError(f'seed must be an integer >= 0, got {seed!r}')
    if not is_int(min_size) or not is_int(max_size):
        raise ValueError(f'min_size and max_size must be integers, got '
                         f'{min_size!r} and {max_size!r}')
    if min_size < 32:
        raise ValueError(f'min_size must be >= 32 pixels, got {min_size}')
    if min_size > max_size:
        raise ValueError(f'min_size ({min_size}) must not exceed max_size '
                         f'({max_size})')
    if not 0 <= val_fraction < 1:
        raise ValueError(f'val_fraction must be in [0, 1), got '
                         f'{val_fraction!r}')
    if (not isinstance(objects_per_image,
                       (tuple, list)) or len(objects_per_image) != 2
            or not all(is_int(v) for v in objects_per_image)
            or not 1 <= objects_per_image[0] <= objects_per_image[1]):
        raise ValueError(f'objects_per_image must be (low, high) integers '
                         f'with 1 <= low <= high, got {objects_per_image!r}')
    if not 0 < max_object_fraction <= 1:
        raise ValueError(f'max_object_fraction must be in (0, 1], got '
                         f'{max_object_fraction!r}')
    if not 2 <= min_object_size <= max_object_fraction * min_size:
        raise ValueError(
            f'min_object_size ({min_object_size}) must be >= 2 and fit '
            f'max_object_fraction * min_size ({max_object_fraction} * '
            f'{min_size})')
    if not is_int(jpeg_quality) or not 1 <= jpeg_quality <= 100:
        raise ValueError(f'jpeg_quality must be an integer in [1, 100], got '
                         f'{jpeg_quality!r}')


def summarize(coco_by_split: Dict[str, dict]) -> dict:
    """Images per split, objects per category, and COCO size classes."""
    summary = dict(
        num_images={},
        num_objects={},
        objects_per_category={c: 0
                              for c in DEMO_CLASSES},
        sizes=dict(small=0, medium=0, large=0))
    for split, coco in coco_by_split.items():
        summary['num_images'][split] = len(coco['images'])
        summary['num_objects'][split] = len(coco['annotations'])
        for ann in coco['annotations']:
            name = DEMO_CLASSES[ann['category_id'] - 1]
            summary['objects_per_category'][name] += 1
            summary['sizes'][size_bucket(ann['area'])] += 1
    return summary


def manifest_params(num_images, seed, min_size, max_size, val_fraction,
                    objects_per_image, min_object_size, max_object_fraction,
                    jpeg_quality) -> dict:
    """The generation arguments as the manifest records them (json types)."""
    return dict(
        num_images=int(num_images),
        seed=int(seed),
        min_size=int(min_size),
        max_size=int(max_size),
        val_fraction=float(val_fraction),
        objects_per_image=[int(v) for v in objects_per_image],
        min_object_size=float(min_object_size),
        max_object_fraction=float(max_object_fraction),
        jpeg_quality=int(jpeg_quality))


def make_demo_dataset(out_dir: PathLike,
                      num_images: int = 300,
                      seed: int = 0,
                      min_size: int = 320,
                      max_size: int = 512,
                      val_fraction: float = 0.2,
                      *,
                      objects_per_image: Tuple[int, int] = (2, 10),
                      min_object_size: float = 10,
                      max_object_fraction: float = 0.5,
                      jpeg_quality: int = 90,
                      progress: Optional[bool] = None) -> dict:
    """Generate the demo dataset at ``out_dir`` (see the module docstring).

    Each image's width and height are drawn independently and uniformly from
    ``[min_size, max_size]``. An existing demo dataset at ``out_dir`` is
    replaced; any other non-empty ``out_dir`` is refused
    (``FileExistsError``). Bad arguments raise ``ValueError``.

    The build happens in a hidden sibling folder named after the arguments
    (``.<name>.partial-<digest>``); a run that is interrupted leaves it there
    and the next run with the same arguments resumes from the images already
    written. It becomes ``out_dir`` only when complete.

    Returns:
        dict: ``root``, ``ann_files`` (split -> path), ``image_list``,
        ``img_prefix`` (the ``images/`` folder), ``manifest`` (path), and the
        :func:`summarize` figures (``num_images``, ``num_objects``,
        ``objects_per_category``, ``sizes``).
    """
    validate_args(num_images, seed, min_size, max_size, val_fraction,
                  objects_per_image, min_object_size, max_object_fraction,
                  jpeg_quality)
    out_dir = Path(out_dir).absolute()
    _check_replaceable(out_dir)
    params = manifest_params(
        num_images=num_images,
        seed=seed,
        min_size=min_size,
        max_size=max_size,
        val_fraction=val_fraction,
        objects_per_image=objects_per_image,
        min_object_size=min_object_size,
        max_object_fraction=max_object_fraction,
        jpeg_quality=jpeg_quality)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Same params, same build folder: an interrupted run resumes there.
    build = _build_dir(out_dir, params)
    coco_by_split = _build(build, params, progress)
    manifest = dict(
        generator='mmsoco.datasets.demo',
        version=DEMO_VERSION,
        params=params,
        classes=list(DEMO_CLASSES),
        **summarize(coco_by_split))
    # Last file written: its presence means the dataset is complete.
    _write_json(build / MANIFEST_NAME, manifest)
    replace_folder(build, out_dir)
    for stale in out_dir.parent.glob(
            f'.{glob.escape(out_dir.name)}.partial-*'):
        shutil.rmtree(stale, ignore_errors=True)

    return dict(
        root=str(out_dir),
        ann_files={
            split: str(out_dir / 'annotations' / f'instances_{split}.json')
            for split in ('train', 'val')
        },
        image_list=str(out_dir / 'annotations' / 'train_images.txt'),
        img_prefix=str(out_dir / 'images'),
        manifest=str(out_dir / MANIFEST_NAME),
        **summarize(coco_by_split))


def _build_dir(out_dir: Path, params: dict) -> Path:
    """The hidden sibling folder where ``out_dir`` is built with ``params``."""
    key = json.dumps(dict(version=DEMO_VERSION, params=params), sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return out_dir.with_name(f'.{out_dir.name}.partial-{digest}')


def _draw_and_write_image(root: Path, index: int, split: str,
                          params: dict) -> dict:
    """Draw image ``index``, write its JPEG, return its COCO records."""
    rng = np.random.default_rng([params['seed'], IMAGE_STREAM, index])
    height, width = (
        int(v)
        for v in rng.integers(params['min_size'], params['max_size'] + 1, 2))
    img, instances = render_demo_image(
        rng,
        height,
        width,
        objects_per_image=tuple(params['objects_per_image']),
        min_object_size=params['min_object_size'],
        max_object_fraction=params['max_object_fraction'])
    file_name = f'{split}/{index:06d}.jpg'
    atomic_write_image(
        root / 'images' / file_name, img, jpeg_quality=params['jpeg_quality'])
    return dict(
        image=dict(
            id=index + 1, file_name=file_name, width=width, height=height),
        annotations=[
            dict(category_id=category + 1, iscrowd=0, **mask_to_coco(mask))
            for category, mask in instances
        ])


def _build(root: Path, params: dict,
           progress: Optional[bool]) -> Dict[str, dict]:
    """Draw and write every image and annotation file under ``root``.

    Each image's records go to ``.records/`` once its JPEG is written, so a
    rerun skips the images it finds there.
    """
    records_dir = root / '.records'
    for split in ('train', 'val'):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    records_dir.mkdir(exist_ok=True)
    is_val = val_image_flags(params['num_images'], params['val_fraction'],
                             params['seed'])
    records = []
    for index in track(
            range(params['num_images']),
            desc='demo images',
            unit='img',
            enabled=progress):
        record_path = records_dir / f'{index:06d}.json'
        record = _read_json(record_path)
        if record is None:
            split = 'val' if is_val[index] else 'train'
            record = _draw_and_write_image(root, index, split, params)
            _write_json(record_path, record)
        records.append(record)

    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(DEMO_CLASSES)
    ]
    info = dict(
        description='mmsoco demo dataset',
        version=DEMO_VERSION,
        seed=params['seed'])
    coco_by_split = {
        split:
        dict(
            info=info,
            licenses=[],
            images=[],
            annotations=[],
            categories=categories)
        for split in ('train', 'val')
    }
    ann_id = 0
    for record, val in zip(records, is_val):
        coco = coco_by_split['val' if val else 'train']
        image = record['image']
        coco['images'].append(image)
        for ann in record['annotations']:
            ann_id += 1
            coco['annotations'].append(
                dict(id=ann_id, image_id=image['id'], **ann))

    for split, coco in coco_by_split.items():
        _write_json(root / 'annotations' / f'instances_{split}.json', coco)
    atomic_write_text(
        os.fspath(root / 'annotations' / 'train_images.txt'),
        ''.join(img['file_name'] + '\n'
                for img in coco_by_split['train']['images']))
    shutil.rmtree(records_dir)
    return coco_by_split

"""The embedded demo dataset: a small, deterministic COCO-format detection set.

SoCo pretrains on unlabeled images and is judged by the detector fine-tuned
afterwards (spec section 5). Running that loop end to end (``make demo``, the
test suite, the small transfer study) needs images that are cheap to make,
identical on every machine, and labeled like COCO, without downloading
ImageNet or COCO. This module draws them.

What the images contain
    Textured objects of :data:`DEMO_CLASSES` (each category has its own shape
    AND its own texture, while colours are random, so the category is
    learnable from appearance only), from tiny (about 10 px) to half the image,
    drawn in order so that later objects occlude earlier ones, over a cluttered
    background (colour gradient, low-frequency colour noise, lines and blurred
    blobs that belong to no category) with mild pixel noise. An object's mask
    is what stays visible; objects that end up too small or mostly hidden are
    dropped before any pixel is drawn, so no unlabeled fragment remains.

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
import inspect
import json
import os
import os.path as osp
import shutil
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils

#: Bump when the drawing changes, so cached demo datasets are regenerated.
DEMO_VERSION = 1

#: One name per category: shape and texture, both distinct per category.
DEMO_CLASSES = ('striped_ellipse', 'checkered_rectangle', 'dotted_triangle',
                'noisy_star', 'banded_ring', 'hatched_hexagon')

#: ``metainfo`` for mmdet's ``CocoDataset`` over the demo annotations.
DEMO_METAINFO = dict(
    classes=DEMO_CLASSES,
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48),
             (145, 30, 180), (128, 128, 0)])

MANIFEST_NAME = 'demo_manifest.json'
ENV_DEMO_DIR = 'MMSOCO_DEMO_DIR'

#: COCO's area thresholds of small / medium / large objects.
COCO_SMALL_AREA = 32**2
COCO_MEDIUM_AREA = 96**2

# Stream tags keep the split draw independent of the per-image draws.
_IMAGE_STREAM = 1
_SPLIT_STREAM = 2

PathLike = Union[str, os.PathLike]


# ---------------------------------------------------------------------------
# Drawing: pure functions of a numpy Generator.
# ---------------------------------------------------------------------------
def _regular_polygon(num_vertices: int, radius: float, angle: float,
                     scale_y: float = 1.0) -> np.ndarray:
    """(K, 2) vertices around the origin, the first at ``angle`` radians."""
    theta = angle + 2 * np.pi * np.arange(num_vertices) / num_vertices
    return np.stack([radius * np.cos(theta), scale_y * radius * np.sin(theta)],
                    axis=1)


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _star(radius: float, angle: float) -> np.ndarray:
    """A five-pointed star: outer and inner vertices alternate."""
    outer = _regular_polygon(5, radius, angle)
    inner = _regular_polygon(5, 0.45 * radius, angle + np.pi / 5)
    return np.stack([outer, inner], axis=1).reshape(-1, 2)


def draw_shape_mask(category: int, size: float, aspect: float,
                    angle: float) -> np.ndarray:
    """Mask (bool, square canvas) of one category's shape, centred.

    Args:
        category: index into :data:`DEMO_CLASSES`.
        size: the shape's extent along its main axis, in pixels.
        aspect: minor / major extent (1 keeps regular shapes regular).
        angle: rotation in radians.
    """
    canvas = int(np.ceil(size * 1.05)) + 4
    mask = np.zeros((canvas, canvas), np.uint8)
    centre = np.array([canvas / 2, canvas / 2])
    radius = size / 2
    name = DEMO_CLASSES[category]
    if name in ('striped_ellipse', 'banded_ring'):
        axes = (max(1, int(round(radius))),
                max(1, int(round(radius * aspect))))
        c = tuple(int(round(v)) for v in centre)
        deg = float(np.degrees(angle))
        cv2.ellipse(mask, c, axes, deg, 0, 360, 1, thickness=-1)
        if name == 'banded_ring':
            hole = (max(1, int(round(axes[0] * 0.5))),
                    max(1, int(round(axes[1] * 0.5))))
            cv2.ellipse(mask, c, hole, deg, 0, 360, 0, thickness=-1)
        return mask.astype(bool)
    if name == 'checkered_rectangle':
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
        points = _rotate(half * [radius * 0.72, radius * 0.72 * aspect], angle)
    elif name == 'dotted_triangle':
        points = _rotate(
            _regular_polygon(3, radius, -np.pi / 2, scale_y=aspect), angle)
    elif name == 'noisy_star':
        points = _star(radius, angle)
    elif name == 'hatched_hexagon':
        points = _rotate(_regular_polygon(6, radius, 0, scale_y=aspect),
                         angle)
    else:  # pragma: no cover - DEMO_CLASSES and this function go together
        raise ValueError(f'no shape for category {category}')
    cv2.fillPoly(mask, [np.round(points + centre).astype(np.int32)], 1)
    return mask.astype(bool)


def _contrasting_colours(rng: np.random.Generator) -> Tuple[np.ndarray, ...]:
    """Two random colours at least ~90 apart in every channel."""
    first = rng.integers(0, 256, 3)
    offset = rng.integers(90, 128, 3)
    second = np.where(first < 128, first + offset, first - offset)
    return first.astype(np.float32), second.astype(np.float32)


def draw_texture(category: int, canvas: int, size: float,
                 rng: np.random.Generator) -> np.ndarray:
    """(canvas, canvas, 3) float32 texture of one category, random colours.

    The pattern kind is the category's (stripes, checks, dots, noise,
    concentric bands, cross-hatching); its period scales with the object so
    that it stays visible on small objects.
    """
    first, second = _contrasting_colours(rng)
    yy, xx = np.mgrid[0:canvas, 0:canvas].astype(np.float32)
    xx -= canvas / 2
    yy -= canvas / 2
    theta = rng.uniform(0, np.pi)
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    period = float(np.clip(size / rng.uniform(3.5, 7.0), 3.0, 24.0))
    name = DEMO_CLASSES[category]
    if name == 'striped_ellipse':
        weight = (np.mod(u / period, 1.0) < 0.5)
    elif name == 'checkered_rectangle':
        weight = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    elif name == 'dotted_triangle':
        du = np.mod(u / period, 1.0) - 0.5
        dv = np.mod(v / period, 1.0) - 0.5
        weight = du * du + dv * dv < 0.3**2
    elif name == 'noisy_star':
        # Speckles of a few pixels: per-pixel noise would average out to
        # a flat colour under JPEG and downscaling.
        cells = max(1, int(np.ceil(canvas / rng.uniform(2.0, 3.5))))
        weight = cv2.resize(rng.random((cells, cells), dtype=np.float32),
                            (canvas, canvas),
                            interpolation=cv2.INTER_NEAREST)
    elif name == 'banded_ring':
        radius = np.sqrt(xx * xx + yy * yy)
        weight = np.mod(radius / (period * 0.6), 1.0) < 0.5
    elif name == 'hatched_hexagon':
        weight = ((np.mod(u / period, 1.0) < 0.25) |
                  (np.mod(v / period, 1.0) < 0.25))
    else:  # pragma: no cover
        raise ValueError(f'no texture for category {category}')
    weight = weight.astype(np.float32)[..., None]
    return first * (1 - weight) + second * weight


def draw_background(height: int, width: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 cluttered background that holds no object category.

    A colour gradient, low- and mid-frequency colour noise, blurred blobs,
    sharp untextured polygons and random polylines: busy enough that a
    proposal method or a detector cannot find the objects by their being the
    only edges in the image.
    """
    theta = rng.uniform(0, 2 * np.pi)
    ramp = (np.arange(width, dtype=np.float32)[None] * np.cos(theta) +
            np.arange(height, dtype=np.float32)[:, None] * np.sin(theta))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    start = rng.uniform(30, 225, 3).astype(np.float32)
    end = rng.uniform(30, 225, 3).astype(np.float32)
    img = start + (end - start) * ramp[..., None]

    coarse = rng.normal(0, 28, (rng.integers(3, 9), rng.integers(3, 9), 3))
    img += cv2.resize(coarse.astype(np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC)

    fine = rng.normal(0, 10, (rng.integers(16, 48), rng.integers(16, 48), 3))
    img += cv2.resize(fine.astype(np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)

    # Soft blobs, drawn and blurred at a quarter of the resolution: they
    # are low-frequency anyway, and a full-size blur dominated the run time.
    small_h, small_w = (height + 3) // 4, (width + 3) // 4
    clutter = np.zeros((small_h, small_w, 3), np.float32)
    for _ in range(rng.integers(3, 9)):
        centre = (int(rng.integers(0, small_w)), int(rng.integers(0, small_h)))
        axes = (int(rng.integers(2, max(3, small_w // 4))),
                int(rng.integers(2, max(3, small_h // 4))))
        colour = tuple(float(c) for c in rng.uniform(-60, 60, 3))
        cv2.ellipse(clutter, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    colour, thickness=-1)
    clutter = cv2.GaussianBlur(clutter, (0, 0), 0.005 * (height + width))
    img += cv2.resize(clutter, (width, height),
                      interpolation=cv2.INTER_LINEAR)

    # Sharp-edged but untextured blobs: edges and regions that a proposal
    # method will find, yet no category (every category is textured).
    for _ in range(rng.integers(2, 7)):
        num = int(rng.integers(5, 10))
        radius = rng.uniform(6, 0.15 * min(height, width))
        theta = np.sort(rng.uniform(0, 2 * np.pi, num))
        r = radius * rng.uniform(0.5, 1.0, num)
        centre = rng.uniform(0, 1, 2) * (width, height)
        points = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + centre
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cv2.fillPoly(img, [np.round(points).astype(np.int32)], colour,
                     lineType=cv2.LINE_AA)
    for _ in range(rng.integers(3, 10)):
        num = int(rng.integers(2, 4))
        points = rng.uniform(0, 1, (num, 2)) * (width, height)
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cv2.polylines(img, [np.round(points).astype(np.int32)], False, colour,
                      int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    return img


def _paste_window(top_left: Tuple[int, int], shape: Tuple[int, int],
                  height: int, width: int):
    """Slices of the image and of a local canvas where the two overlap."""
    y0, x0 = top_left
    h, w = shape
    iy0, ix0 = max(y0, 0), max(x0, 0)
    iy1, ix1 = min(y0 + h, height), min(x0 + w, width)
    if iy1 <= iy0 or ix1 <= ix0:
        return None
    return ((slice(iy0, iy1), slice(ix0, ix1)),
            (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0)))


def _label_map(objects: List[dict], height: int, width: int) -> np.ndarray:
    """(H, W) int32 index of the visible object per pixel, -1 for background.

    Later objects overwrite earlier ones: that is the occlusion.
    """
    labels = np.full((height, width), -1, np.int32)
    for index, obj in enumerate(objects):
        window = obj['window']
        if window is None:
            continue
        image_slice, local_slice = window
        labels[image_slice][obj['mask'][local_slice]] = index
    return labels


def render_demo_image(
    rng: np.random.Generator,
    height: int,
    width: int,
    objects_per_image: Tuple[int, int] = (2, 10),
    min_object_size: float = 10,
    max_object_fraction: float = 0.5,
    min_visible_area: int = 24,
    min_visible_fraction: float = 0.35,
) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    """Draw one demo image and the visible masks of its objects.

    Args:
        rng: the image's own random stream.
        height, width: image size in pixels.
        objects_per_image: inclusive range of objects placed (some may be
            dropped for being hidden).
        min_object_size, max_object_fraction: an object's extent is drawn
            log-uniformly between ``min_object_size`` pixels and
            ``max_object_fraction`` of the image's shorter side (COCO-like:
            many small objects, some large).
        min_visible_area, min_visible_fraction: objects whose visible pixels
            fall below either (occluded or cut by the border) are dropped
            before drawing.

    Returns:
        The BGR uint8 image and ``[(category index, bool (H, W) mask)]`` in
        drawing order.
    """
    img = draw_background(height, width, rng)
    max_size = max(min_object_size, max_object_fraction * min(height, width))
    objects = []
    for _ in range(rng.integers(objects_per_image[0],
                                objects_per_image[1] + 1)):
        category = int(rng.integers(len(DEMO_CLASSES)))
        size = float(np.exp(rng.uniform(np.log(min_object_size),
                                        np.log(max_size))))
        mask = draw_shape_mask(category, size, rng.uniform(0.6, 1.0),
                               rng.uniform(0, 2 * np.pi))
        canvas = mask.shape[0]
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        top_left = (int(round(cy - canvas / 2)), int(round(cx - canvas / 2)))
        objects.append(dict(
            category=category, size=size, mask=mask,
            full_area=int(mask.sum()),
            window=_paste_window(top_left, mask.shape, height, width),
            texture_seed=int(rng.integers(2**31))))

    # Drop hidden objects before drawing anything: dropping one only
    # uncovers the others, so a single pass leaves every kept object
    # visible enough.
    labels = _label_map(objects, height, width)
    visible = np.bincount(labels.ravel() + 1, minlength=len(objects) + 1)[1:]
    keep = [
        obj for obj, area in zip(objects, visible)
        if area >= min_visible_area
        and area >= min_visible_fraction * obj['full_area']
    ]
    labels = _label_map(keep, height, width)

    instances = []
    for index, obj in enumerate(keep):
        image_slice, local_slice = obj['window']
        texture = draw_texture(obj['category'], obj['mask'].shape[0],
                               obj['size'],
                               np.random.default_rng(obj['texture_seed']))
        region = labels[image_slice] == index
        img[image_slice][region] = texture[local_slice][region]
        instances.append((obj['category'], labels == index))

    img += 4 * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), instances


# ---------------------------------------------------------------------------
# COCO records.
# ---------------------------------------------------------------------------
def mask_to_coco(mask: np.ndarray) -> dict:
    """``bbox`` (tight, COCO x, y, w, h), ``area`` and compressed-RLE
    ``segmentation`` of a bool (H, W) mask, json-ready."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    area = int(mask_utils.area(rle))
    return dict(
        bbox=bbox, area=area,
        segmentation=dict(size=[int(s) for s in rle['size']],
                          counts=rle['counts'].decode('ascii')))


def size_bucket(area: float) -> str:
    """COCO's size class of an object area: 'small', 'medium' or 'large'."""
    if area < COCO_SMALL_AREA:
        return 'small'
    if area < COCO_MEDIUM_AREA:
        return 'medium'
    return 'large'


def val_image_flags(num_images: int, val_fraction: float,
                  seed: int) -> np.ndarray:
    """Bool (num_images,) array, True for images in the val split.

    At least one training image; at least one val image when
    ``val_fraction > 0`` and there are two images or more.
    """
    num_val = int(round(num_images * val_fraction))
    if val_fraction > 0 and num_images >= 2:
        num_val = max(num_val, 1)
    num_val = min(num_val, num_images - 1)
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(
        num_images)
    is_val = np.zeros(num_images, bool)
    is_val[order[:num_val]] = True
    return is_val


# ---------------------------------------------------------------------------
# Writing (the only functions that touch the disk).
# ---------------------------------------------------------------------------
def _write_bytes(path: PathLike, data: bytes) -> None:
    """Write a file so that it is either absent or complete."""
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def _write_jpeg(path: PathLike, img: np.ndarray, quality: int) -> None:
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f'could not encode {path} as JPEG')
    _write_bytes(path, buf.tobytes())


def _write_json(path: PathLike, obj) -> None:
    _write_bytes(path, json.dumps(obj, separators=(',', ':')).encode())


def _write_text(path: PathLike, lines: Sequence[str]) -> None:
    _write_bytes(path, ''.join(line + '\n' for line in lines).encode())


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


def _move_into_place(built: Path, out_dir: Path) -> None:
    """Rename the finished folder to ``out_dir``, replacing an old demo set."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f'.{out_dir.name}.old-{uuid.uuid4().hex[:8]}')
        os.replace(out_dir, old)
    try:
        os.replace(built, out_dir)
    except OSError:
        if old is not None and not out_dir.exists():
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _validate_args(num_images, seed, min_size, max_size, val_fraction,
                   objects_per_image, min_object_size, max_object_fraction,
                   jpeg_quality) -> None:
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
    if (not isinstance(objects_per_image, (tuple, list))
            or len(objects_per_image) != 2
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
    summary = dict(num_images={}, num_objects={},
                   objects_per_category={c: 0 for c in DEMO_CLASSES},
                   sizes=dict(small=0, medium=0, large=0))
    for split, coco in coco_by_split.items():
        summary['num_images'][split] = len(coco['images'])
        summary['num_objects'][split] = len(coco['annotations'])
        for ann in coco['annotations']:
            name = DEMO_CLASSES[ann['category_id'] - 1]
            summary['objects_per_category'][name] += 1
            summary['sizes'][size_bucket(ann['area'])] += 1
    return summary


def _manifest_params(num_images, seed, min_size, max_size, val_fraction,
                     objects_per_image, min_object_size, max_object_fraction,
                     jpeg_quality) -> dict:
    """The generation arguments as the manifest records them (json types)."""
    return dict(num_images=int(num_images), seed=int(seed),
                min_size=int(min_size), max_size=int(max_size),
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
                      progress: bool = False) -> dict:
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
    _validate_args(num_images, seed, min_size, max_size, val_fraction,
                   objects_per_image, min_object_size, max_object_fraction,
                   jpeg_quality)
    out_dir = Path(out_dir).absolute()
    _check_replaceable(out_dir)
    params = _manifest_params(
        num_images=num_images, seed=seed, min_size=min_size,
        max_size=max_size, val_fraction=val_fraction,
        objects_per_image=objects_per_image, min_object_size=min_object_size,
        max_object_fraction=max_object_fraction, jpeg_quality=jpeg_quality)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Same params, same build folder: an interrupted run resumes there.
    build = _build_dir(out_dir, params)
    coco_by_split = _build(build, params, progress)
    manifest = dict(generator='mmsoco.datasets.demo', version=DEMO_VERSION,
                    params=params, classes=list(DEMO_CLASSES),
                    **summarize(coco_by_split))
    # Last file written: its presence means the dataset is complete.
    _write_json(build / MANIFEST_NAME, manifest)
    _move_into_place(build, out_dir)
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
    key = json.dumps(dict(version=DEMO_VERSION, params=params),
                     sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return out_dir.with_name(f'.{out_dir.name}.partial-{digest}')


def _draw_and_write_image(root: Path, index: int, split: str,
                          params: dict) -> dict:
    """Draw image ``index``, write its JPEG, return its COCO records."""
    rng = np.random.default_rng([params['seed'], _IMAGE_STREAM, index])
    height, width = (int(v) for v in rng.integers(
        params['min_size'], params['max_size'] + 1, 2))
    img, instances = render_demo_image(
        rng, height, width,
        objects_per_image=tuple(params['objects_per_image']),
        min_object_size=params['min_object_size'],
        max_object_fraction=params['max_object_fraction'])
    file_name = f'{split}/{index:06d}.jpg'
    _write_jpeg(root / 'images' / file_name, img, params['jpeg_quality'])
    return dict(
        image=dict(id=index + 1, file_name=file_name, width=width,
                   height=height),
        annotations=[
            dict(category_id=category + 1, iscrowd=0, **mask_to_coco(mask))
            for category, mask in instances
        ])


def _build(root: Path, params: dict, progress: bool) -> Dict[str, dict]:
    """Draw and write every image and annotation file under ``root``.

    Each image's records go to ``.records/`` once its JPEG is written, so a
    rerun skips the images it finds there.
    """
    from tqdm import tqdm

    records_dir = root / '.records'
    for split in ('train', 'val'):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    records_dir.mkdir(exist_ok=True)
    is_val = val_image_flags(params['num_images'], params['val_fraction'],
                             params['seed'])
    records = []
    for index in tqdm(range(params['num_images']), disable=not progress,
                      desc='demo images', unit='img'):
        record_path = records_dir / f'{index:06d}.json'
        record = _read_json(record_path)
        if record is None:
            split = 'val' if is_val[index] else 'train'
            record = _draw_and_write_image(root, index, split, params)
            _write_json(record_path, record)
        records.append(record)

    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, name in enumerate(DEMO_CLASSES)]
    info = dict(description='mmsoco demo dataset', version=DEMO_VERSION,
                seed=params['seed'])
    coco_by_split = {
        split: dict(info=info, licenses=[], images=[], annotations=[],
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
    _write_text(root / 'annotations' / 'train_images.txt',
                [img['file_name'] for img in coco_by_split['train']['images']])
    shutil.rmtree(records_dir)
    return coco_by_split


#: make_demo_dataset's generation arguments and their defaults.
_GENERATION_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(make_demo_dataset).parameters.items()
    if p.default is not inspect.Parameter.empty and name != 'progress'
}


# ---------------------------------------------------------------------------
# The cached copy used by the demo, the configs and the tests.
# ---------------------------------------------------------------------------
def default_demo_dir() -> Path:
    """``$MMSOCO_DEMO_DIR``, else ``data/demo`` in the source checkout, else
    ``~/.cache/mmsoco/demo`` (an installed, non-editable package)."""
    env = os.environ.get(ENV_DEMO_DIR)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / 'setup.py').is_file() or (repo / 'setup.cfg').is_file():
        return repo / 'data' / 'demo'
    return Path.home() / '.cache' / 'mmsoco' / 'demo'


def manifest_matches(manifest: Optional[dict], params: dict) -> bool:
    """Whether a manifest records this generator version and these params."""
    if not manifest:
        return False
    return (manifest.get('version') == DEMO_VERSION
            and manifest.get('params') == params)


def ensure_demo_dataset(root: Optional[PathLike] = None,
                        num_images: int = 300,
                        seed: int = 0,
                        progress: bool = True,
                        **kwargs) -> Path:
    """Return the demo dataset's root, generating it on first use.

    ``root`` defaults to :func:`default_demo_dir`. A dataset there whose
    manifest matches (generator version and every :func:`make_demo_dataset`
    argument: ``num_images``, ``seed``, ``kwargs``, the defaults for the
    rest) is reused; otherwise it is regenerated in place (atomically).
    """
    root = Path(root) if root is not None else default_demo_dir()
    unknown = set(kwargs) - set(_GENERATION_DEFAULTS)
    if unknown:
        raise TypeError(f'ensure_demo_dataset() got unknown arguments '
                        f'{sorted(unknown)}')
    args = {**_GENERATION_DEFAULTS, **kwargs,
            'num_images': num_images, 'seed': seed}
    _validate_args(**args)
    params = _manifest_params(**args)
    if manifest_matches(read_manifest(root), params):
        return root
    from mmengine.logging import print_log
    print_log(f'generating the demo dataset ({num_images} images, seed '
              f'{seed}) at {root}', logger='current')
    try:
        make_demo_dataset(root, num_images=num_images, seed=seed,
                          progress=progress, **kwargs)
    except OSError:
        # Another process may have put the same dataset in place first.
        if not manifest_matches(read_manifest(root), params):
            raise
    return root

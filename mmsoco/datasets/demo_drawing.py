"""Drawing the demo dataset's images and their COCO records: pure functions.

The demo dataset (:mod:`mmsoco.datasets.demo`, which writes it) needs images
that are cheap to make, identical on every machine and labeled like COCO.
Everything here is a pure function of a numpy Generator; nothing touches the
disk.

What the images contain
    Textured objects of :data:`DEMO_CLASSES` (each category has its own shape
    AND its own texture, while colours are random, so the category is
    learnable from appearance only), from tiny (about 10 px) to half the image,
    drawn in order so that later objects occlude earlier ones, over a cluttered
    background (colour gradient, low-frequency colour noise, lines and blurred
    blobs that belong to no category) with mild pixel noise. An object's mask
    is what stays visible; objects that end up too small or mostly hidden are
    dropped before any pixel is drawn, so no unlabeled fragment remains.
"""
from typing import List, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

#: One name per category: shape and texture, both distinct per category.
DEMO_CLASSES = ('striped_ellipse', 'checkered_rectangle', 'dotted_triangle',
                'noisy_star', 'banded_ring', 'hatched_hexagon')

#: ``metainfo`` for mmdet's ``CocoDataset`` over the demo annotations.
DEMO_METAINFO = dict(
    classes=DEMO_CLASSES,
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48),
             (145, 30, 180), (128, 128, 0)])

#: COCO's area thresholds of small / medium / large objects.
COCO_SMALL_AREA = 32**2
COCO_MEDIUM_AREA = 96**2

# Stream tags keep the split draw independent of the per-image draws.
IMAGE_STREAM = 1
SPLIT_STREAM = 2


def _regular_polygon(num_vertices: int,
                     radius: float,
                     angle: float,
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
        axes = (max(1, int(round(radius))), max(1,
                                                int(round(radius * aspect))))
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
        points = _rotate(_regular_polygon(6, radius, 0, scale_y=aspect), angle)
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
        weight = cv2.resize(
            rng.random((cells, cells), dtype=np.float32), (canvas, canvas),
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
    ramp = (
        np.arange(width, dtype=np.float32)[None] * np.cos(theta) +
        np.arange(height, dtype=np.float32)[:, None] * np.sin(theta))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    start = rng.uniform(30, 225, 3).astype(np.float32)
    end = rng.uniform(30, 225, 3).astype(np.float32)
    img = start + (end - start) * ramp[..., None]

    coarse = rng.normal(0, 28, (rng.integers(3, 9), rng.integers(3, 9), 3))
    img += cv2.resize(
        coarse.astype(np.float32), (width, height),
        interpolation=cv2.INTER_CUBIC)

    fine = rng.normal(0, 10, (rng.integers(16, 48), rng.integers(16, 48), 3))
    img += cv2.resize(
        fine.astype(np.float32), (width, height),
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
        cv2.ellipse(
            clutter,
            centre,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            colour,
            thickness=-1)
    clutter = cv2.GaussianBlur(clutter, (0, 0), 0.005 * (height + width))
    img += cv2.resize(clutter, (width, height), interpolation=cv2.INTER_LINEAR)

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
        cv2.fillPoly(
            img, [np.round(points).astype(np.int32)],
            colour,
            lineType=cv2.LINE_AA)
    for _ in range(rng.integers(3, 10)):
        num = int(rng.integers(2, 4))
        points = rng.uniform(0, 1, (num, 2)) * (width, height)
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cv2.polylines(
            img, [np.round(points).astype(np.int32)],
            False,
            colour,
            int(rng.integers(1, 4)),
            lineType=cv2.LINE_AA)
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
    return ((slice(iy0, iy1), slice(ix0, ix1)), (slice(iy0 - y0, iy1 - y0),
                                                 slice(ix0 - x0, ix1 - x0)))


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
    for _ in range(
            rng.integers(objects_per_image[0], objects_per_image[1] + 1)):
        category = int(rng.integers(len(DEMO_CLASSES)))
        size = float(
            np.exp(rng.uniform(np.log(min_object_size), np.log(max_size))))
        mask = draw_shape_mask(category, size, rng.uniform(0.6, 1.0),
                               rng.uniform(0, 2 * np.pi))
        canvas = mask.shape[0]
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        top_left = (int(round(cy - canvas / 2)), int(round(cx - canvas / 2)))
        objects.append(
            dict(
                category=category,
                size=size,
                mask=mask,
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
        if area >= min_visible_area and area >= min_visible_fraction *
        obj['full_area']
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
        bbox=bbox,
        area=area,
        segmentation=dict(
            size=[int(s) for s in rle['size']],
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
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(num_images)
    is_val = np.zeros(num_images, bool)
    is_val[order[:num_val]] = True
    return is_val


__all__ = [
    'DEMO_CLASSES', 'DEMO_METAINFO', 'IMAGE_STREAM', 'SPLIT_STREAM',
    'draw_shape_mask', 'draw_texture', 'draw_background', 'render_demo_image',
    'mask_to_coco', 'size_bucket', 'val_image_flags'
]

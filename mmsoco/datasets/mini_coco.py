"""Mini-COCO annotation splits for the low-data transfer benchmark
(``docs/method.md`` section 5.2): 1%, 5% and 10% of COCO train2017.

One seeded permutation of the image ids is drawn and each split takes its
first ``round(fraction * N)`` images, so the splits are nested (the 1% images
are part of the 5% split, which is part of the 10% one) and reproducible from
``(source file, seed)`` alone. Every annotation of a chosen image is kept;
``categories``, ``info`` and ``licenses`` are copied, and
``info['mmsoco_subset']`` records how the split was made. Files are written
atomically.
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from mmsoco.utils.atomic_files import atomic_write_json
from mmsoco.utils.image_files import load_coco_json
from mmsoco.utils.progress import track

DEFAULT_FRACTIONS = (0.01, 0.05, 0.10)


def split_name(fraction: float) -> str:
    """``0.01 -> '1pct'``, ``0.005 -> '0.5pct'``: the file-name tag."""
    return f'{round(fraction * 100, 6):g}pct'


def split_size(fraction: float, num_images: int) -> int:
    """Images in a ``fraction`` split of ``num_images``: the nearest
    count, at least 1."""
    return max(1, int(round(fraction * num_images)))


def check_distinct_splits(fractions: Sequence[float], num_images: int,
                          source: str) -> None:
    """Refuse fractions that select the same number of images: on a small
    set (e.g. 1% and 5% of 40 images are both 1 image) their files would be
    identical, not the nested low-data ladder they are named for."""
    by_size: Dict[int, float] = {}
    for fraction in fractions:
        size = split_size(fraction, num_images)
        if size in by_size:
            raise ValueError(
                f'{source} has {num_images} images: fractions '
                f'{by_size[size]:g} and {fraction:g} both select {size} '
                f'image(s), so their splits would be identical. Use '
                f'--fractions at least {1 / num_images:.2g} apart, or a '
                'larger annotation file.')
        by_size[size] = fraction


def select_subset(coco: dict, fraction: float, seed: int) -> dict:
    """The COCO dict restricted to a seeded ``fraction`` of its images."""
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    ids = sorted(img['id'] for img in coco['images'])
    if not ids:
        raise ValueError('the annotation file has no images')
    order = np.random.default_rng(seed).permutation(len(ids))
    num = split_size(fraction, len(ids))
    chosen = {ids[i] for i in order[:num]}
    subset = {
        k: v
        for k, v in coco.items() if k not in ('images', 'annotations')
    }
    subset['info'] = dict(coco.get('info') or {})
    subset['info']['mmsoco_subset'] = dict(
        fraction=fraction,
        seed=seed,
        num_images=num,
        num_source_images=len(ids))
    subset['images'] = [img for img in coco['images'] if img['id'] in chosen]
    subset['annotations'] = [
        ann for ann in coco['annotations'] if ann['image_id'] in chosen
    ]
    return subset


def make_mini_coco(ann_file: str,
                   out_dir: str,
                   fractions: Sequence[float] = DEFAULT_FRACTIONS,
                   seed: int = 0,
                   prefix: str = 'instances_train2017',
                   progress: Optional[bool] = None) -> Dict[str, dict]:
    """Write ``{out_dir}/{prefix}_{N}pct.json`` for every fraction.

    Returns:
        ``{output path: info['mmsoco_subset'] plus num_annotations}``.

    Raises:
        ValueError: a fraction outside (0, 1], an annotation file without
            images, or two fractions that select the same number of images
            (:func:`check_distinct_splits`); nothing is written.
    """
    coco = load_coco_json(ann_file)
    # Every check before the first file, so that an error leaves none.
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f'fraction must be in (0, 1], got {fraction:g}')
    if not coco['images']:
        raise ValueError(f'{ann_file} lists no images')
    check_distinct_splits(fractions, len(coco['images']), ann_file)
    written = {}
    for fraction in track(
            fractions, desc='mini-COCO splits', unit='split',
            enabled=progress):
        subset = select_subset(coco, fraction, seed)
        path = osp.join(out_dir, f'{prefix}_{split_name(fraction)}.json')
        atomic_write_json(path, subset)
        written[path] = dict(
            subset['info']['mmsoco_subset'],
            num_annotations=len(subset['annotations']))
    return written

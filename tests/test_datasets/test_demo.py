"""The demo dataset generator (mmsoco.datasets.demo) and its CLI.

Expectations are independent of the generator: masks are decoded with
pycocotools and their tight boxes recomputed with numpy; files are read back
with mmdet's CocoDataset and cv2; determinism is checked byte for byte.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmsoco.datasets import demo, demo_drawing
from mmsoco.datasets.demo import (DEMO_CLASSES, DEMO_METAINFO, MANIFEST_NAME,
                                  make_demo_dataset)
from mmsoco.datasets.demo_cache import ensure_demo_dataset
from demo_files import TINY, tree_bytes

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / 'tools' / 'misc' / 'make_demo_dataset.py'


def _load_coco(root, split):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def _tight_box(mask):
    """x1, y1, x2, y2 (exclusive) of a non-empty bool mask."""
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize('split', ['train', 'val'])
def test_mmdet_coco_dataset_reads_consistent_instances(demo_data_root, split):
    from mmdet.datasets import CocoDataset

    dataset = CocoDataset(
        data_root=str(demo_data_root),
        ann_file=f'annotations/instances_{split}.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=DEMO_CLASSES),
        pipeline=[],
        test_mode=False)
    coco = _load_coco(demo_data_root, split)
    assert len(dataset) == len(coco['images']) > 0
    areas = {a['id']: a['area'] for a in coco['annotations']}
    ann_ids_by_image = {}
    for ann in coco['annotations']:
        ann_ids_by_image.setdefault(ann['image_id'], []).append(ann['id'])

    num_instances = 0
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        img = cv2.imread(info['img_path'])
        assert img is not None, info['img_path']
        assert img.shape[:2] == (info['height'], info['width'])
        assert osp.dirname(info['img_path']).endswith(split)

        masks_so_far = np.zeros(img.shape[:2], np.int32)
        ann_ids = ann_ids_by_image.get(info['img_id'], [])
        assert len(info['instances']) == len(ann_ids)
        for instance, ann_id in zip(info['instances'], ann_ids):
            mask = mask_utils.decode(instance['mask']).astype(bool)
            assert mask.shape == img.shape[:2]
            assert mask.any()
            assert int(mask.sum()) == areas[ann_id]
            x1, y1, x2, y2 = instance['bbox']
            assert [x1, y1, x2, y2] == pytest.approx(_tight_box(mask), abs=1)
            assert 0 <= x1 < x2 <= info['width']
            assert 0 <= y1 < y2 <= info['height']
            assert 0 <= instance['bbox_label'] < len(DEMO_CLASSES)
            assert instance['ignore_flag'] == 0
            masks_so_far += mask
            num_instances += 1
        # Occlusion leaves each pixel to at most one object.
        assert masks_so_far.max() <= 1
    assert num_instances == len(coco['annotations'])


def test_mmdet_pipeline_loads_the_rle_masks(demo_data_root):
    """mmdet's own loading pipeline turns the annotations into masks/boxes."""
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations

    dataset = CocoDataset(
        data_root=str(demo_data_root),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        metainfo=DEMO_METAINFO,
        # Instances, not config dicts: no registry scope to set globally.
        pipeline=[
            LoadImageFromFile(),
            LoadAnnotations(with_bbox=True, with_mask=True),
        ],
        filter_cfg=dict(filter_empty_gt=True, min_size=0))
    coco = _load_coco(demo_data_root, 'train')
    for index in range(3):
        results = dataset[index]
        anns = [
            a for a in coco['annotations']
            if a['image_id'] == results['img_id']
        ]
        masks = results['gt_masks'].to_ndarray().astype(bool)
        assert masks.shape == (len(anns), *results['img'].shape[:2])
        assert masks.reshape(len(anns),
                             -1).sum(1).tolist() == [a['area'] for a in anns]
        boxes = results['gt_bboxes'].numpy()
        for mask, box in zip(masks, boxes):
            assert box.tolist() == _tight_box(mask)


def test_layout_ids_and_unlabeled_list(demo_data_root):
    train = _load_coco(demo_data_root, 'train')
    val = _load_coco(demo_data_root, 'val')
    assert len(train['images']) + len(val['images']) == 24
    assert len(val['images']) == round(24 * 0.2)
    for coco in (train, val):
        assert [c['name'] for c in coco['categories']] == list(DEMO_CLASSES)
        assert {c['id']
                for c in coco['categories']
                } == set(range(1,
                               len(DEMO_CLASSES) + 1))
        for ann in coco['annotations']:
            assert ann['iscrowd'] == 0
            assert isinstance(ann['segmentation']['counts'], str)
    image_ids = [img['id'] for img in train['images'] + val['images']]
    ann_ids = [a['id'] for a in train['annotations'] + val['annotations']]
    assert len(set(image_ids)) == len(image_ids)
    assert len(set(ann_ids)) == len(ann_ids)

    with open(osp.join(demo_data_root, 'annotations',
                       'train_images.txt')) as f:
        listed = f.read().splitlines()
    assert listed == [img['file_name'] for img in train['images']]
    for rel in listed:
        assert rel.startswith('train/')
        assert osp.isfile(osp.join(demo_data_root, 'images', rel))
    for img in val['images']:
        assert osp.isfile(osp.join(demo_data_root, 'images', img['file_name']))
    manifest = json.loads((demo_data_root / MANIFEST_NAME).read_text())
    assert manifest['params']['seed'] == 0
    assert manifest['params']['num_images'] == 24
    assert len(DEMO_METAINFO['palette']) == len(DEMO_CLASSES)


def test_objects_span_sizes_and_occlude(demo_data_root):
    anns, images = [], {}
    for split in ('train', 'val'):
        coco = _load_coco(demo_data_root, split)
        anns += coco['annotations']
        images.update({img['id']: img for img in coco['images']})
    areas = np.array([a['area'] for a in anns])
    assert (areas < 32**2).any() and (areas > 96**2).any()
    assert min(min(a['bbox'][2:]) for a in anns) <= 16
    assert {a['category_id']
            for a in anns} == set(range(1,
                                        len(DEMO_CLASSES) + 1))
    # Image sizes are drawn per side within the default range.
    sizes = [(img['width'], img['height']) for img in images.values()]
    assert all(320 <= w <= 512 and 320 <= h <= 512 for w, h in sizes)
    assert any(w != h for w, h in sizes)
    # Occlusion happens: some pair of objects has overlapping boxes (their
    # masks being disjoint is checked in the CocoDataset test).
    by_image = {}
    for ann in anns:
        by_image.setdefault(ann['image_id'], []).append(ann['bbox'])
    overlapping = 0
    for boxes in by_image.values():
        b = np.array(boxes)
        x2, y2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        ix = np.minimum(x2[:, None], x2) - np.maximum(b[:, None, 0], b[:, 0])
        iy = np.minimum(y2[:, None], y2) - np.maximum(b[:, None, 1], b[:, 1])
        inter = (ix > 0) & (iy > 0)
        overlapping += int(inter.sum() - len(b))
    assert overlapping > 0


@pytest.mark.parametrize(
    'name, expected_area',
    [
        # Areas from plane geometry for size 80 (radius 40), aspect 1.
        ('striped_ellipse', np.pi * 40**2),
        ('banded_ring', np.pi * (40**2 - 20**2)),
        ('checkered_rectangle', (2 * 40 * 0.72)**2),
        ('dotted_triangle', 3 * np.sqrt(3) / 4 * 40**2),
        ('hatched_hexagon', 3 * np.sqrt(3) / 2 * 40**2),
    ])
def test_shape_masks_have_their_geometric_area(name, expected_area):
    mask = demo_drawing.draw_shape_mask(DEMO_CLASSES.index(name), 80, 1.0, 0.3)
    assert mask.sum() == pytest.approx(expected_area, rel=0.06)
    centre = mask.shape[0] // 2
    # Only the ring is hollow.
    assert mask[centre, centre] == (name != 'banded_ring')


def test_star_is_concave():
    mask = demo_drawing.draw_shape_mask(
        DEMO_CLASSES.index('noisy_star'), 80, 1.0, 0.0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(contours[0])
    assert mask.sum() < 0.7 * cv2.contourArea(hull)


def test_pixels_follow_the_visible_masks(monkeypatch):
    """Every object is painted exactly on its visible mask, later ones on
    top: with a black background and one flat grey level per object, each
    pixel shows the level of the object whose mask holds it."""
    levels = []

    def flat_texture(category, canvas, size, rng):
        levels.append(40 + 20 * len(levels))
        return np.full((canvas, canvas, 3), levels[-1], np.float32)

    monkeypatch.setattr(demo_drawing, 'draw_background',
                        lambda h, w, rng: np.zeros((h, w, 3), np.float32))
    monkeypatch.setattr(demo_drawing, 'draw_texture', flat_texture)
    img, instances = demo_drawing.render_demo_image(
        np.random.default_rng(5),
        160,
        200,
        objects_per_image=(8, 8),
        min_object_size=20)
    assert img.shape == (160, 200, 3)
    assert len(instances) == len(levels) >= 2
    expected = np.zeros((160, 200), np.float32)
    for (category, mask), level in zip(instances, levels):
        assert mask.shape == (160, 200) and mask.any()
        assert 0 <= category < len(DEMO_CLASSES)
        assert not expected[mask].any(), 'visible masks overlap'
        expected[mask] = level
    # Only the pixel noise (sigma 4) separates the image from the masks.
    assert np.abs(img.astype(np.float32) - expected[..., None]).max() < 25


def test_textures_have_two_colours():
    for name in ('striped_ellipse', 'checkered_rectangle', 'dotted_triangle',
                 'banded_ring', 'hatched_hexagon'):
        tex = demo_drawing.draw_texture(
            DEMO_CLASSES.index(name), 64, 64, np.random.default_rng(0))
        colours = np.unique(tex.reshape(-1, 3), axis=0)
        assert len(colours) == 2, name
        assert np.abs(colours[0] - colours[1]).min() >= 90, name


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    first = make_demo_dataset(tmp_path / 'a', 6, seed=3, **TINY)
    second = make_demo_dataset(tmp_path / 'b', 6, seed=3, **TINY)
    other = make_demo_dataset(tmp_path / 'c', 6, seed=4, **TINY)
    files_a = tree_bytes(first['root'])
    assert len([p for p in files_a if p.endswith('.jpg')]) == 6
    assert files_a == tree_bytes(second['root'])
    files_c = tree_bytes(other['root'])
    for split in ('train', 'val'):
        rel = osp.join('annotations', f'instances_{split}.json')
        assert files_a[rel] != files_c[rel]
    pixels_a = [
        cv2.imread(osp.join(first['root'], p)) for p in files_a
        if p.endswith('.jpg')
    ]
    pixels_c = [
        cv2.imread(osp.join(other['root'], p)) for p in files_c
        if p.endswith('.jpg')
    ]
    assert not any(a.shape == c.shape and np.array_equal(a, c)
                   for a, c in zip(pixels_a, pixels_c))


def test_image_content_does_not_depend_on_num_images(tmp_path):
    """Image i has its own random stream: a bigger set extends a smaller."""
    small = make_demo_dataset(
        tmp_path / 's', 3, seed=1, val_fraction=0, **TINY)
    large = make_demo_dataset(
        tmp_path / 'l', 5, seed=1, val_fraction=0, **TINY)
    for index in range(3):
        rel = osp.join('images', 'train', f'{index:06d}.jpg')
        a = cv2.imread(osp.join(small['root'], rel))
        b = cv2.imread(osp.join(large['root'], rel))
        assert np.array_equal(a, b)


def _visible_entries(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith('.'))


def test_interrupted_generation_resumes_to_the_same_bytes(
        tmp_path, monkeypatch):
    root = tmp_path / 'demo'
    real_write = demo.atomic_write_image
    written, interrupt = [], [True]

    def failing_write(path, img, jpeg_quality):
        if interrupt[0] and len(written) == 2:
            raise KeyboardInterrupt('simulated interruption')
        written.append(osp.basename(path))
        real_write(path, img, jpeg_quality)

    monkeypatch.setattr(demo, 'atomic_write_image', failing_write)
    with pytest.raises(KeyboardInterrupt):
        make_demo_dataset(root, 5, seed=0, **TINY)
    assert not root.exists()
    assert _visible_entries(tmp_path) == []  # only the hidden build folder
    assert len(os.listdir(tmp_path)) == 1

    # The rerun draws only the three images that were not written yet.
    written.clear()
    interrupt[0] = False
    assert ensure_demo_dataset(root, num_images=5, seed=0, **TINY) == root
    assert len(written) == 3
    assert (root / MANIFEST_NAME).is_file()
    assert os.listdir(tmp_path) == ['demo']  # build folder gone
    monkeypatch.setattr(demo, 'atomic_write_image', real_write)
    clean = make_demo_dataset(tmp_path / 'clean', 5, seed=0, **TINY)
    assert tree_bytes(root) == tree_bytes(clean['root'])


def test_interrupted_regeneration_keeps_the_old_dataset(tmp_path, monkeypatch):
    root = tmp_path / 'demo'
    make_demo_dataset(root, 4, seed=0, **TINY)
    before = tree_bytes(root)

    def failing_write(path, img, jpeg_quality):
        raise OSError('disk full (simulated)')

    monkeypatch.setattr(demo, 'atomic_write_image', failing_write)
    with pytest.raises(OSError, match='simulated'):
        make_demo_dataset(root, 4, seed=1, **TINY)
    assert tree_bytes(root) == before
    assert _visible_entries(tmp_path) == ['demo']


def test_refuses_to_overwrite_foreign_folder(tmp_path):
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'precious.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not a demo dataset'):
        make_demo_dataset(foreign, 2, **TINY)
    with pytest.raises(FileExistsError, match='not a demo dataset'):
        ensure_demo_dataset(foreign, num_images=2, **TINY)
    assert os.listdir(foreign) == ['precious.txt']
    assert sorted(os.listdir(tmp_path)) == ['mine']


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_images=0), 'num_images'),
    (dict(num_images=2.5), 'num_images'),
    (dict(seed=-1), 'seed'),
    (dict(min_size=100, max_size=50), 'must not exceed'),
    (dict(min_size=8, max_size=50), 'min_size'),
    (dict(val_fraction=1.0), 'val_fraction'),
    (dict(objects_per_image=(3, 1)), 'objects_per_image'),
    (dict(objects_per_image=5), 'objects_per_image'),
    (dict(max_object_fraction=0), 'max_object_fraction'),
    (dict(min_object_size=40), 'min_object_size'),
    (dict(jpeg_quality=0), 'jpeg_quality'),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    args = dict(num_images=2, **TINY)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        make_demo_dataset(tmp_path / 'out', **args)
    assert not (tmp_path / 'out').exists()


def _run_cli(*args):
    return subprocess.run([sys.executable, str(CLI), *args],
                          capture_output=True,
                          text=True,
                          cwd=str(REPO),
                          timeout=300)


def test_cli_generates_and_summarises(tmp_path):
    out = tmp_path / 'cli'
    proc = _run_cli('--out', str(out), '--num-images', '4', '--seed', '2',
                    '--min-size', '48', '--max-size', '64', '--val-fraction',
                    '0.25', '--no-progress')
    assert proc.returncode == 0, proc.stderr
    assert (out / MANIFEST_NAME).is_file()
    assert len(_load_coco(out, 'val')['images']) == 1
    for word in ('train', 'val', 'small', 'medium', 'large', *DEMO_CLASSES):
        assert word in proc.stdout
    # The same call on the library gives the same bytes.
    lib = make_demo_dataset(
        tmp_path / 'lib',
        4,
        seed=2,
        min_size=48,
        max_size=64,
        val_fraction=0.25)
    assert tree_bytes(out) == tree_bytes(lib['root'])


def _cli_module():
    spec = importlib.util.spec_from_file_location('make_demo_dataset_cli', CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_rejects_bad_arguments_in_a_subprocess(tmp_path):
    proc = _run_cli('--out', str(tmp_path / 'x'), '--num-images', '0')
    assert proc.returncode != 0
    assert 'num_images must be' in proc.stderr
    assert not (tmp_path / 'x').exists()


@pytest.mark.parametrize('args, message', [
    (['--min-size', '200', '--max-size', '100'], 'must not exceed'),
    (['--val-fraction', '1.5'], 'val_fraction'),
    (['--seed', '-3'], 'seed'),
])
def test_cli_rejects_bad_arguments(tmp_path, capsys, args, message):
    # In-process: the subprocess test above covers the real entry point.
    assert _cli_module().main(['--out', str(tmp_path / 'x'), *args]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'x').exists()


def test_cli_argparse_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _cli_module().main(['--out', str(tmp_path), '--num-images', 'many'])
    assert exc.value.code != 0
    assert 'invalid int value' in capsys.readouterr().err


def test_cli_refuses_foreign_output(tmp_path, capsys):
    (tmp_path / 'notes.txt').write_text('not a dataset')
    assert _cli_module().main(['--out',
                               str(tmp_path), '--num-images', '2']) != 0
    assert 'not a demo dataset' in capsys.readouterr().err
    assert os.listdir(tmp_path) == ['notes.txt']

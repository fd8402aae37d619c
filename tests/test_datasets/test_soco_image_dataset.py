"""``SoCoImageDataset``: sources and bad-image handling."""
import json
import logging

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmsoco.registry import DATASETS

LOAD = [dict(type='LoadImageFromFile')]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmsoco')


def _write_images(root, rel_paths, size=(12, 16)):
    for i, rel in enumerate(rel_paths):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((*size, 3), i * 10, np.uint8))


def _build(**kwargs):
    return DATASETS.build(dict(type='SoCoImageDataset', **kwargs))


def test_folder_is_recursive_sorted_and_filtered(tmp_path):
    _write_images(tmp_path, ['b/2.png', 'a/1.JPG', 'a/sub/3.jpeg', 'c.png'])
    (tmp_path / 'notes.txt').write_text('not an image')
    dataset = _build(data_root=str(tmp_path), pipeline=LOAD)
    keys = [dataset.get_data_info(i)['img_key'] for i in range(len(dataset))]
    assert keys == ['a/1.JPG', 'a/sub/3.jpeg', 'b/2.png', 'c.png']
    assert dataset[0]['img'].shape == (12, 16, 3)
    assert dataset[2]['img_path'] == str(tmp_path / 'b/2.png')


def test_list_file_ignores_labels(tmp_path):
    _write_images(tmp_path / 'train', ['n01/x.png', 'n02/y.png'])
    (tmp_path /
     'train.txt').write_text('n02/y.png 7\n\n# comment\nn01/x.png\n')
    dataset = _build(
        data_root=str(tmp_path),
        ann_file='train.txt',
        data_prefix=dict(img_path='train'),
        pipeline=LOAD)
    assert [dataset.get_data_info(i)['img_key']
            for i in range(len(dataset))] == ['n02/y.png', 'n01/x.png']


def test_several_coco_jsons(tmp_path):
    _write_images(
        tmp_path,
        ['train2017/1.png', 'unlabeled2017/2.png', 'unlabeled2017/3.png'])
    for name, files in [('train', ['1.png']), ('unlabeled', ['2.png',
                                                             '3.png'])]:
        coco = dict(
            images=[
                dict(id=i, file_name=f, width=16, height=12)
                for i, f in enumerate(files)
            ],
            annotations=[],
            categories=[])
        (tmp_path / f'{name}.json').write_text(json.dumps(coco))
    dataset = _build(
        data_root=str(tmp_path),
        ann_file=['train.json', 'unlabeled.json'],
        data_prefix=dict(img_path=['train2017', 'unlabeled2017']),
        pipeline=LOAD)
    paths = [dataset.get_data_info(i)['img_path'] for i in range(3)]
    assert paths == [
        str(tmp_path / 'train2017/1.png'),
        str(tmp_path / 'unlabeled2017/2.png'),
        str(tmp_path / 'unlabeled2017/3.png')
    ]
    # Store keys: relative to the common parent of the image folders.
    assert [dataset.get_data_info(i)['img_key'] for i in range(3)] == [
        'train2017/1.png', 'unlabeled2017/2.png', 'unlabeled2017/3.png'
    ]
    assert all(dataset[i]['img'] is not None for i in range(3))


def _with_corrupt(tmp_path):
    _write_images(tmp_path, ['a.png', 'c.png'])
    (tmp_path / 'b.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    return tmp_path


def test_skip_mode_skips_and_counts(tmp_path, monkeypatch):
    from mmsoco.datasets import soco_image_dataset
    logged = []
    monkeypatch.setattr(soco_image_dataset, 'print_log',
                        lambda msg, logger, level: logged.append((level, msg)))
    root = _with_corrupt(tmp_path)
    dataset = _build(data_root=str(root), pipeline=LOAD)
    assert len(dataset) == 3
    result = dataset[1]  # b.jpg: replaced by another image
    assert result['img_path'] != str(root / 'b.jpg')
    assert dataset.num_bad_images >= 1  # the refetch may hit it again
    level, message = logged[0]
    assert level == logging.WARNING and 'b.jpg' in message
    assert '1 skipped so far in this process' in message


def test_a_step_that_drops_a_sample_is_named_and_counted(
        tmp_path, monkeypatch):
    """A transform after loading that returns None (nothing to train on)
    is skipped like an unreadable image: logged with the step, counted."""
    from mmcv.transforms import BaseTransform

    from mmsoco.datasets import soco_image_dataset
    from mmsoco.registry import TRANSFORMS

    @TRANSFORMS.register_module(force=True)
    class _DropsA(BaseTransform):

        def transform(self, results):
            return None if results['img_path'].endswith('a.png') else results

    logged = []
    monkeypatch.setattr(soco_image_dataset, 'print_log',
                        lambda msg, logger, level: logged.append((level, msg)))
    _write_images(tmp_path, ['a.png', 'c.png'])
    dataset = _build(
        data_root=str(tmp_path), pipeline=LOAD + [dict(type='_DropsA')])
    result = dataset[0]  # a.png: dropped by the step, c.png given
    assert result['img_path'] == str(tmp_path / 'c.png')
    level, message = logged[0]
    assert level == logging.WARNING
    assert message.startswith(f'skipping image {tmp_path / "a.png"} '
                              '(_DropsA returned None); 1 skipped')


def test_error_mode_names_the_image(tmp_path):
    root = _with_corrupt(tmp_path)
    dataset = _build(data_root=str(root), pipeline=LOAD, on_bad_image='error')
    dataset[0]
    with pytest.raises(Exception, match='b.jpg'):
        dataset[1]


def test_check_at_start(tmp_path):
    root = _with_corrupt(tmp_path)
    with pytest.raises(ValueError, match='(?s)1 of 3 images.*b.jpg'):
        _build(
            data_root=str(root),
            pipeline=LOAD,
            on_bad_image='error',
            check_images_at_start=True)
    dataset = _build(
        data_root=str(root), pipeline=LOAD, check_images_at_start=True)
    assert len(dataset) == 2 and dataset.num_bad_images == 1


def test_check_at_start_logs_progress_by_time(tmp_path, monkeypatch):
    """The up-front decode of a big dataset logs count, rate and time left
    (every MMSOCO_PROGRESS_INTERVAL seconds; 0 here: every image)."""
    from mmsoco.datasets import soco_image_dataset
    logged = []
    monkeypatch.setattr(
        soco_image_dataset,
        'print_log',
        lambda msg, logger, level=logging.INFO: logged.append(msg))
    monkeypatch.setenv('MMSOCO_PROGRESS_INTERVAL', '0')
    _build(
        data_root=str(_with_corrupt(tmp_path)),
        pipeline=LOAD,
        check_images_at_start=True)
    lines = [m for m in logged if m.startswith('check_images_at_start')]
    assert [m.split(',')[0] for m in lines[:3]] == [
        f'check_images_at_start: {i}/3 img ({100 * i / 3:.1f}%)'
        for i in (1, 2, 3)
    ]
    assert lines[-1].endswith(tuple(f'done in 0:00:0{s}' for s in range(10)))


def test_bad_configuration(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        _build(data_root=str(tmp_path), ann_file='missing.txt')
    with pytest.raises(ValueError, match='no images'):
        _build(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='on_bad_image'):
        _build(data_root=str(tmp_path), on_bad_image='ignore')
    (tmp_path / 'empty.txt').write_text('# nothing listed yet\n')
    with pytest.raises(
            ValueError,
            match=f'the ann file {tmp_path}/empty.txt lists no images'):
        _build(data_root=str(tmp_path), ann_file='empty.txt')


DATA_CONFIGS = [
    'soco_fpn_imagenet.py', 'soco_fpn_cutout_imagenet.py',
    'soco_star_imagenet.py', 'soco_c4_imagenet.py', 'soco_fpn_coco.py',
    'soco_demo.py'
]


@pytest.mark.parametrize('name', DATA_CONFIGS)
def test_data_configs_build(name):
    """Every SoCo data config builds; photometric views exist."""
    import os.path as osp

    from mmengine.config import Config

    from mmsoco.registry import MODELS, TRANSFORMS
    root = osp.join(
        osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
    cfg = Config.fromfile(osp.join(root, name))
    steps = [
        TRANSFORMS.build(s) for s in cfg.train_dataloader.dataset.pipeline
    ]
    views = next(s for s in steps if type(s).__name__ == 'MultiViewBoxJitter')
    covered = set()
    for step in steps:
        if type(step).__name__ == 'ApplyToViews':
            assert all(v < len(views.views) for v in step.views)
            assert not covered & set(step.views)  # one photometric per view
            covered |= set(step.views)
    assert covered == set(range(len(views.views)))
    assert cfg.train_dataloader.collate_fn.type == 'pseudo_collate'
    MODELS.build(cfg.data_preprocessor)


def test_demo_pipeline_end_to_end(demo_data_root, tmp_path):
    """soco_demo.py on the demo images -> collate -> preprocessor contract."""
    import os.path as osp

    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from mmsoco.registry import MODELS
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
            'soco_demo.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = f'{demo_data_root}/'
    dataset_cfg.pipeline[1]['cache_dir'] = str(tmp_path / 'cache')
    dataset = DATASETS.build(dataset_cfg)
    np.random.seed(0)
    batch = pseudo_collate([dataset[0], dataset[1]])
    out = MODELS.build(cfg.data_preprocessor)(batch, training=True)
    assert [tuple(x.shape) for x in out['inputs']] == [(2, 3, 112, 112),
                                                       (2, 3, 112, 112),
                                                       (2, 3, 64, 64)]
    for sample in out['data_samples']:
        assert sample.view_pairs == [(0, 1), (0, 2)]
        for sets, id_sets, rows in zip(sample.pair_bboxes,
                                       sample.pair_proposal_ids,
                                       sample.pair_matches):
            for boxes, ids in zip(sets, id_sets):
                assert boxes.dtype == torch.float32 and boxes.shape == (4, 4)
                assert len(ids) == 4
            assert torch.equal(id_sets[0][rows[:, 0]], id_sets[1][rows[:, 1]])


def test_images_missing_from_the_proposal_store_are_refused_at_start(tmp_path):
    """Not three days into the run: building the dataset names them."""
    from mmsoco.proposals.store_writer import write_store
    _write_images(tmp_path / 'img', ['a.png', 'b.png', 'c.png'])
    store = str(tmp_path / 'store')
    box = np.array([[0, 0, 8, 8]], dtype=np.float32)
    write_store(store, [('a.png', box, (16, 12)), ('c.png', box, (16, 12))])
    pipeline = [
        dict(type='LoadImageWithPIL'),
        dict(type='SelectiveSearchProposals', store_path=store)
    ]
    with pytest.raises(KeyError, match="'b.png'"):
        _build(
            data_prefix=dict(img_path=str(tmp_path / 'img')),
            pipeline=pipeline)
    # The check can be switched off (e.g. a store known to be complete).
    dataset = _build(
        data_prefix=dict(img_path=str(tmp_path / 'img')),
        pipeline=pipeline,
        check_proposals_at_start=False)
    assert len(dataset) == 3
    # Complete store: builds, and the stored box comes out.
    write_store(
        store, [('a.png', box, (16, 12)), ('b.png', box, (16, 12)),
                ('c.png', box, (16, 12))],
        overwrite=True)
    dataset = _build(
        data_prefix=dict(img_path=str(tmp_path / 'img')), pipeline=pipeline)
    np.testing.assert_array_equal(dataset[1]['proposals'], box)


def test_check_at_start_decodes_with_the_pipelines_loader(tmp_path):
    """An image that Pillow decodes and OpenCV does not (a PCX listed by an
    ann file): kept by the check when training loads with LoadImageWithPIL
    (Pillow, the recipes' loader), dropped when it loads with mmcv's
    OpenCV loader, so the check agrees with training either way."""
    from PIL import Image
    _write_images(tmp_path, ['a.png'])
    Image.fromarray(np.full((12, 16, 3), 90,
                            np.uint8)).save(str(tmp_path / 'b.pcx'))
    (tmp_path / 'list.txt').write_text('a.png\nb.pcx\n')
    common = dict(
        ann_file=str(tmp_path / 'list.txt'),
        data_prefix=dict(img_path=str(tmp_path)),
        check_images_at_start=True)
    pil = _build(pipeline=[dict(type='LoadImageWithPIL')], **common)
    assert len(pil) == 2 and pil[1]['img'].shape == (12, 16, 3)
    opencv = _build(pipeline=LOAD, **common)
    assert len(opencv) == 1 and opencv.num_bad_images == 1
    assert opencv.dropped_images[0][0] == 'b.pcx'

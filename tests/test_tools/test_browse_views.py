"""tools/analysis_tools/browse_views.py: mosaics of views and their boxes."""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest

from mmsoco.visualization import colour_for_id

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _tool():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'browse_views.py')
    spec = importlib.util.spec_from_file_location('browse_views', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_id_same_colour_at_the_box():
    tool = _tool()
    views = [
        dict(
            img=np.zeros((64, 64, 3), np.uint8),
            bboxes=np.array([[10, 20, 30, 40]], np.float32),
            proposal_ids=np.array([7]),
            flip=False,
            crop=(0, 0, 64, 48)),
        dict(
            img=np.zeros((32, 32, 3), np.uint8),
            bboxes=np.array([[2, 4, 12, 16], [0, 0, 32, 32]], np.float32),
            proposal_ids=np.array([7, -1]),
            flip=True,
            crop=(0, 0, 64, 48)),
    ]
    results = dict(
        img=np.zeros((48, 64, 3), np.uint8),
        views=views,
        proposals=np.array([[8, 8, 40, 40], [0, 0, 4, 4]], np.float32),
        proposal_ids=np.array([7, 3]))
    mosaic = tool.render_views(results, height=64)
    colour = colour_for_id(7)
    assert colour != colour_for_id(3)
    assert colour_for_id(-1) == (255, 255, 255)
    # panel 0: source scaled 64/48; proposal 7's top edge at y = 8 * 4/3
    y, x = int(round(8 * 64 / 48)), int(round(20 * 64 / 48))
    assert tuple(mosaic[y, x]) == colour
    # panel 1 starts after the 85-px source panel and a 4-px gap
    x0 = int(round(64 * 64 / 48)) + 4
    assert tuple(mosaic[20, x0 + 20]) == colour  # top edge of V1's box
    x1 = x0 + 64 + 4
    assert tuple(mosaic[4, x1 + 6]) == colour  # V2's box, same colour
    assert mosaic.shape[0] == 64


def test_every_panel_is_labelled():
    """The source panel names its proposals (it was the one unlabelled
    panel), the views their index and flip."""
    from mmsoco.visualization import label, to_height
    tool = _tool()
    src = np.full((48, 64, 3), 60, np.uint8)
    view = dict(
        img=np.full((32, 32, 3), 60, np.uint8),
        bboxes=np.zeros((0, 4), np.float32),
        proposal_ids=np.zeros(0, np.int64),
        flip=True)
    results = dict(
        img=src,
        views=[view],
        proposals=np.zeros((0, 4), np.float32),
        proposal_ids=np.zeros(0, np.int64))
    mosaic = tool.render_views(results, height=64)
    source_panel = label(to_height(src, 64), 'image: 0 proposals, 0 sampled')
    np.testing.assert_array_equal(mosaic[:, :source_panel.shape[1]],
                                  source_panel)
    assert (source_panel != to_height(src, 64)).any()  # text was drawn
    x0 = source_panel.shape[1] + 4
    np.testing.assert_array_equal(mosaic[:32, x0:x0 + 32],
                                  label(view['img'], 'V1 flip'))


def test_fewer_images_than_num_is_said(demo_data_root, tmp_path, capsys):
    tool = _tool()
    out = tmp_path / 'views'
    config = osp.join(REPO, 'configs', '_base_', 'datasets', 'soco_demo.py')
    assert tool.main([
        config, '--output-dir',
        str(out), '--num', '5', '--quiet', '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root}/',
        'train_dataloader.dataset.indices=2',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache'
    ]) == 0
    assert len(list(out.glob('*.png'))) == 2
    assert 'the dataset has 2 images, fewer than --num 5: writing 2 ' \
        'mosaics' in capsys.readouterr().err


def test_cli_writes_pngs(demo_data_root, tmp_path):
    tool = _tool()
    out = tmp_path / 'views'
    config = osp.join(REPO, 'configs', '_base_', 'datasets', 'soco_demo.py')
    rc = tool.main([
        config, '--output-dir',
        str(out), '--num', '2', '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root}/',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache'
    ])
    assert rc == 0
    pngs = sorted(out.glob('*.png'))
    assert len(pngs) == 2
    img = cv2.imread(str(pngs[0]))
    assert img is not None and img.shape[0] == 224


def test_cutout_squares_shown_in_the_mean_colour():
    from mmsoco.visualization import fill_squares
    img = np.full((16, 16, 3), 200, np.uint8)
    shown = fill_squares(img, np.array([[2, 3, 5, 7]]))
    assert (shown[3:7, 2:5] == (104, 116, 124)).all()
    assert (shown[:3] == 200).all() and (shown[7:] == 200).all()
    assert (img == 200).all()  # the view itself is left alone


def test_missing_config_is_one_line(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(SystemExit) as exit_info:
        _tool().main([missing, '--output-dir', str(tmp_path / 'views')])
    assert str(exit_info.value) == f'config file {missing} does not exist'

"""tools/train.py and tools/test.py: their one-line refusals, and test.py's
--show-dir drawing the predictions of each test image and --out dumping
them."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import mmcv
import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOCO_DEMO = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
DEMO_FT = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                   'mask-rcnn_r18-fpn_demo.py')


def _tool(name):
    path = osp.join(REPO, 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a tool gets as far as loading its config."""

    def refuse(*args, **kwargs):
        raise AssertionError('the tool loaded its config')

    train, test = _tool('train'), _tool('test')
    for module in (train, test):
        monkeypatch.setattr(module, 'load_launch_config', refuse)
    return train, test


def test_amp_without_a_gpu_is_one_line_before_anything(nothing_built,
                                                       monkeypatch):
    train, _ = nothing_built
    import mmengine.device as device
    for name in ('is_cuda_available', 'is_npu_available', 'is_mlu_available',
                 'is_musa_available'):
        monkeypatch.setattr(device, name, lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        train.main([SOCO_DEMO, '--amp'])
    assert str(exit_info.value) == (
        '--amp needs a GPU (CUDA, NPU, MLU or MUSA) and this machine has '
        'none: leave out --amp to train in fp32 on the CPU')


def test_missing_config_is_one_line(nothing_built, tmp_path):
    train, test = nothing_built
    missing = str(tmp_path / 'soco_typo.py')
    with pytest.raises(SystemExit) as exit_info:
        train.main([missing])
    assert str(exit_info.value) == f'config file {missing} does not exist'
    with pytest.raises(SystemExit) as exit_info:
        test.main([missing, 'ckpt.pth'])
    assert str(exit_info.value) == f'config file {missing} does not exist'


def test_missing_resume_checkpoint_is_one_line(nothing_built, tmp_path):
    train, _ = nothing_built
    missing = str(tmp_path / 'epoch_3.pth')
    with pytest.raises(SystemExit) as exit_info:
        train.main([SOCO_DEMO, '--resume', missing])
    message = str(exit_info.value)
    assert message == f'--resume checkpoint {missing} does not exist'


def test_partial_init_cfg_is_one_line_before_the_runner(monkeypatch):
    """A warm start's checkpoint set on a config without an init_cfg: one
    line naming the missing type and the fix, before any runner is built
    (mmengine's initialiser would say KeyError: 'type' after building it)."""
    train = _tool('train')

    def refuse(*args, **kwargs):
        raise AssertionError('the runner was built')

    monkeypatch.setattr(train, 'build_runner', refuse)
    with pytest.raises(SystemExit) as exit_info:
        train.main([
            SOCO_DEMO, '--cfg-options',
            'model.init_cfg.checkpoint=work_dirs/byol/epoch_20.pth'
        ])
    message = str(exit_info.value)
    assert message.startswith(f'{SOCO_DEMO}: model.init_cfg has no type')
    assert 'model.init_cfg.type=PretrainedBackbone' in message
    assert '\n' not in message


def test_missing_weights_are_one_line_before_the_runner(monkeypatch, tmp_path):
    """A fine-tune whose converted checkpoint is not there (the demo's
    default load_from before the conversion ran), and a warm start whose
    backbone file is not: one line naming the setting, before the datasets
    and the model are built (mmengine would find it after building them)."""
    train = _tool('train')

    def refuse(*args, **kwargs):
        raise AssertionError('the runner was built')

    monkeypatch.setattr(train, 'build_runner', refuse)
    missing = str(tmp_path / 'mmdet.pth')
    with pytest.raises(SystemExit) as exit_info:
        train.main([DEMO_FT, '--cfg-options', f'load_from={missing}'])
    assert str(exit_info.value) == (
        f'{DEMO_FT}: load_from {missing} not found: set load_from=PATH')
    warm = osp.join(REPO, 'configs', 'soco', 'soco-warm_r50fpn_12e_coco.py')
    with pytest.raises(SystemExit) as exit_info:
        train.main(
            [warm, '--cfg-options', f'model.init_cfg.checkpoint={missing}'])
    assert str(exit_info.value).startswith(
        f'{warm}: model.init_cfg.checkpoint {missing} not found')


def test_dataset_smaller_than_a_batch_names_both(demo_data_root, tmp_path):
    """3 images, batch 4, drop_last: mmengine would say `epoch_length must
    be a positive integer, but got 0` once the schedulers are built."""
    train = _tool('train')
    with pytest.raises(SystemExit) as exit_info:
        train.main([
            SOCO_DEMO, '--work-dir',
            str(tmp_path / 'work'), '--cfg-options',
            f'train_dataloader.dataset.data_root={demo_data_root}',
            'train_dataloader.dataset.indices=3',
            'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache'
        ])
    assert str(exit_info.value) == (
        f'{SOCO_DEMO}: the training set has 3 images < batch 4 (drop_last): '
        'not one batch per epoch; lower train_dataloader.batch_size or train '
        'on more images')
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_show_dir_needs_a_visualization_hook(tmp_path):
    ckpt = tmp_path / 'soco.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(SystemExit) as exit_info:
        _tool('test').main([SOCO_DEMO, str(ckpt), '--show-dir', 'shown'])
    assert str(exit_info.value) == (
        f'{SOCO_DEMO}: --show / --show-dir draw with '
        "default_hooks.visualization (e.g. dict(type='DetVisualizationHook')"
        '), which this config does not have')


def test_show_dir_writes_each_test_image_drawn(demo_data_root, tmp_path):
    """A real test run of the demo Mask R-CNN (random weights) on 2 images,
    ~9 s: the drawing happens in mmdet's hook, inside the test loop."""
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO_FT).model)
    ckpt = tmp_path / 'mask-rcnn.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    val_ann = demo_data_root / 'annotations' / 'instances_val.json'
    show_dir = tmp_path / 'shown'
    preds = tmp_path / 'out' / 'preds.pkl'
    _tool('test').main([
        DEMO_FT,
        str(ckpt),
        '--work-dir',
        str(tmp_path / 'work'),
        '--show-dir',
        str(show_dir),
        '--out',
        str(preds),
        '--cfg-options',
        f'test_dataloader.dataset.data_root={demo_data_root}',
        'test_dataloader.dataset.indices=2',
        f'test_evaluator.ann_file={val_ann}',
        # Visualizer.get_current_instance() (what the hook draws with) is the
        # visualizer whose name was registered last: after an earlier test's
        # runners, 'visualizer' is not, and a plain one is returned.
        f'visualizer.name=show_dir_{tmp_path.name}'
    ])
    images = json.loads(val_ann.read_text())['images'][:2]
    assert sorted(p.name for p in show_dir.iterdir()) == sorted(
        osp.basename(i['file_name']) for i in images)
    for image in images:
        drawn = mmcv.imread(str(show_dir / osp.basename(image['file_name'])))
        # mmdet's layout: ground truth on the left, predictions on the right.
        assert drawn.shape[:2] == (image['height'], 2 * image['width'])
    # --out: every test image's predictions, and nothing else in the folder.
    assert os.listdir(preds.parent) == ['preds.pkl']
    with open(preds, 'rb') as f:
        dumped = pickle.load(f)
    assert sorted(osp.basename(d['img_path']) for d in dumped) == sorted(
        osp.basename(i['file_name']) for i in images)
    assert all('pred_instances' in d and 'gt_instances' not in d
               for d in dumped)

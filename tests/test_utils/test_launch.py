"""setup_cpu_distributed: the CPU wrapper chosen, found under any scope; the
empty-epoch message; --show / --show-dir."""
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS, DefaultScope

from mmsoco.models.wrappers import CPUDistributedDataParallel
from mmsoco.utils.launch import (apply_show_flags, empty_epoch_reason,
                                 local_checkpoints, missing_checkpoint_reason,
                                 setup_cpu_distributed,
                                 untyped_init_cfg_reason, untyped_init_cfgs)


@pytest.fixture
def no_cuda_group_ready(monkeypatch):
    """A CPU machine under torchrun; the process group start is recorded."""
    started = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(dist, 'init_process_group',
                        lambda **kwargs: started.append(kwargs))
    return started


def _cfg(**kwargs):
    return Config(dict(launcher='pytorch', **kwargs))


@pytest.mark.parametrize('scope', ['mmsoco', 'mmdet'])
def test_cpu_wrapper_is_found_by_the_runner_lookup(no_cuda_group_ready, scope):
    cfg = _cfg()
    assert setup_cpu_distributed(cfg)
    assert no_cuda_group_ready == [dict(backend='gloo')]
    wrapper = cfg.model_wrapper_cfg
    assert wrapper.device_ids is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # mmengine's Runner.wrap_model: MODEL_WRAPPERS.get(type) on the root
    # registry, under the config's default scope (mmdet for fine-tuning).
    with DefaultScope.overwrite_default_scope(scope):
        assert MODEL_WRAPPERS.get(wrapper.type) is CPUDistributedDataParallel


def test_config_wrapper_options_kept(no_cuda_group_ready):
    cfg = _cfg(
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', find_unused_parameters=True))
    setup_cpu_distributed(cfg)
    assert MODEL_WRAPPERS.get(
        cfg.model_wrapper_cfg.type) is CPUDistributedDataParallel
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.broadcast_buffers is False


def test_other_wrapper_type_kept(no_cuda_group_ready):
    cfg = _cfg(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel'))
    setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.type == 'MMFullyShardedDataParallel'


def test_nothing_changes_with_cuda_or_without_launcher(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg()
    assert not setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='none'))
    assert not setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.parametrize(
    'num_images,batch,world,drop_last,expected',
    [
        (8, 4, 2, True, None),  # 4 per process: one batch each
        (7, 4, 2, True, None),  # ceil(7 / 2) = 4 (DefaultSampler pads)
        (3, 4, 1, False, None),  # a partial batch is kept
        (3, 4, 1, True, 'the training set has 3 images < batch 4 (drop_last)'),
        (6, 4, 2, True,
         'the training set has 6 images over 2 processes = 3 per '
         'process < batch 4 (drop_last)'),
        (0, 4, 1, False, 'the training set has no images'),
    ])
def test_empty_epoch_reason(num_images, batch, world, drop_last, expected):
    reason = empty_epoch_reason(num_images, batch, world, drop_last)
    if expected is None:
        assert reason is None
    else:
        assert reason.startswith(expected), reason


def test_show_flags_turn_on_the_visualization_hook():
    cfg = Config(
        dict(
            default_hooks=dict(
                visualization=dict(type='DetVisualizationHook'))))
    apply_show_flags(cfg, show_dir='shown')
    assert cfg.default_hooks.visualization == dict(
        type='DetVisualizationHook', draw=True, test_out_dir='shown')
    apply_show_flags(cfg, show=True, wait_time=0.5)
    assert cfg.default_hooks.visualization.show is True
    assert cfg.default_hooks.visualization.wait_time == 0.5
    untouched = Config(dict(default_hooks=dict()))
    apply_show_flags(untouched)
    assert untouched.default_hooks == dict()


def test_untyped_init_cfgs_hand_worked():
    model = dict(
        type='SoCo',
        init_cfg=dict(checkpoint='a.pth'),  # --cfg-options made it
        backbone=dict(
            type='ResNet',
            init_cfg=dict(type='Pretrained', checkpoint='b.pth')),
        neck=[
            dict(
                type='FPN',
                init_cfg=[dict(type='Xavier'),
                          dict(layer='Conv2d')])
        ],
        head=dict(type='Head', init_cfg=None))
    assert untyped_init_cfgs(model) == [
        'model.init_cfg', 'model.neck[0].init_cfg'
    ]
    assert untyped_init_cfgs(dict(type='SoCo', init_cfg=None)) == []
    reason = untyped_init_cfg_reason(Config(dict(model=model)))
    assert reason.startswith('model.init_cfg has no type (model.init_cfg, '
                             'model.neck[0].init_cfg)')
    assert 'model.init_cfg.type=PretrainedBackbone' in reason
    assert untyped_init_cfg_reason(Config(
        dict(model=dict(type='SoCo')))) is None


def test_every_recipe_has_typed_init_cfgs():
    """No shipped config trips the check (each init_cfg names its type)."""
    import glob
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    configs = glob.glob(
        osp.join(repo, 'configs', '**', '*.py'), recursive=True)
    configs = [c for c in configs if '/_base_/' not in c]
    assert len(configs) > 40
    for path in configs:
        cfg = Config.fromfile(path)
        assert untyped_init_cfgs(cfg.get('model', {})) == [], path


def test_local_checkpoints_and_the_first_missing_one(tmp_path):
    present = tmp_path / 'resnet.pth'
    present.write_bytes(b'x')
    cfg = Config(
        dict(
            load_from=str(tmp_path / 'mmdet.pth'),
            model=dict(
                init_cfg=dict(
                    type='PretrainedBackbone', checkpoint=str(present)),
                backbone=dict(
                    init_cfg=dict(
                        type='Pretrained',
                        checkpoint='torchvision://resnet50')),
                neck=[dict(init_cfg=[dict(type='Xavier')])])))
    assert local_checkpoints(cfg) == [
        ('load_from', str(tmp_path / 'mmdet.pth')),
        ('model.init_cfg.checkpoint', str(present)),
    ]  # the torchvision:// name is mmengine's to resolve
    assert missing_checkpoint_reason(cfg) == (
        f'load_from {tmp_path / "mmdet.pth"} not found: set load_from=PATH')
    cfg.load_from = None
    assert missing_checkpoint_reason(cfg) is None
    present.unlink()
    assert missing_checkpoint_reason(cfg) == (
        f'model.init_cfg.checkpoint {present} not found: set '
        'model.init_cfg.checkpoint=PATH (or model.init_cfg=None to start '
        'from random weights)')

"""Warm start (``model.init_cfg=dict(type='PretrainedBackbone', ...)``) on
the real SoCo (FPN, C4) and BYOL models: every layout's backbone lands in
the online AND the target network bit for bit, everything else starts as in
the recipe, and a wrong or empty checkpoint is refused by name.

The checkpoints come from independent sources: torchvision's own ResNet-18
(values randomised, BN statistics included, so a tensor left at the model's
initialisation shows), an mmpretrain-style file written here, and mmsoco
BYOL checkpoints saved by a real training iteration (mmengine's file, with
its message hub).
"""
import copy

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmsoco.converters.warm_start import WarmStartError
from mmsoco.registry import HOOKS, MODELS
from soco_checkpoint import (TINY_CONFIGS, save_mmengine_checkpoint,
                             soco_state_dict)

FROZEN_KEYS = ('neck.', 'bbox_head.', 'shared_head.', 'projector.',
               'predictor.')


def _randomised(state_dict, seed):
    gen = torch.Generator().manual_seed(seed)
    return {
        k: (torch.randn(v.shape, generator=gen) if v.is_floating_point() else
            torch.randint(1, 9, v.shape, generator=gen, dtype=v.dtype))
        for k, v in state_dict.items()
    }


@pytest.fixture(scope='module')
def torchvision_r18(tmp_path_factory):
    """torchvision's ResNet-18 state dict (random values), a bare file."""
    state = _randomised(torchvision.models.resnet18().state_dict(), 1)
    path = tmp_path_factory.mktemp('tv') / 'resnet18.pth'
    torch.save(state, str(path))
    return state, str(path)


def _build(kind, init_cfg=None, seed=0, **backbone):
    cfg = Config.fromfile(TINY_CONFIGS[kind]).model
    cfg.data_preprocessor = None
    cfg.backbone.update(backbone)
    if init_cfg is not None:
        cfg.init_cfg = init_cfg
    torch.manual_seed(seed)  # construction draws weights too
    with DefaultScope.overwrite_default_scope('mmsoco'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def _warm(checkpoint, **kwargs):
    return dict(type='PretrainedBackbone', checkpoint=checkpoint, **kwargs)


def _assert_backbone_is(model, expected):
    """Online and target backbone (C4: + res5 in the shared head) hold
    exactly ``expected`` (torchvision names), every tensor of theirs."""
    state = model.state_dict()
    checked = 0
    for net in ('', 'target.'):
        for key, value in state.items():
            if not key.startswith(net):
                continue
            inner = key[len(net):]
            for part in ('backbone.', 'shared_head.'):
                if inner.startswith(part) and (part == 'backbone.'
                                               or '.layer4.' in key):
                    assert torch.equal(value, expected[inner[len(part):]]), \
                        key
                    checked += 1
    assert checked == 2 * sum(
        1 for k in state if k.startswith(('backbone.', 'shared_head.')))


@pytest.mark.parametrize('kind', ['fpn', 'c4', 'byol'])
def test_torchvision_resnet_loads_online_and_target(kind, torchvision_r18):
    state, path = torchvision_r18
    model = _build(kind, _warm(path))
    _assert_backbone_is(model, state)


def test_scoped_type_names_reach_the_warm_start(torchvision_r18):
    """``'mmsoco.PretrainedBackbone'`` (scoped, as configs spell other
    mmsoco types) and a list with another init entry load as the plain
    name does."""
    state, path = torchvision_r18
    scoped = dict(_warm(path), type='mmsoco.PretrainedBackbone')
    _assert_backbone_is(_build('fpn', scoped), state)
    _assert_backbone_is(
        _build('fpn',
               [scoped, dict(type='Constant', layer='Linear', val=0)]), state)


def test_other_parts_start_exactly_as_the_recipe(torchvision_r18):
    _, path = torchvision_r18
    for kind in ('fpn', 'c4'):
        cold = _build(kind, seed=3).state_dict()
        warm = _build(kind, _warm(path), seed=3).state_dict()
        others = [
            k for k in cold if k.startswith(FROZEN_KEYS)
            and not k.startswith('shared_head.layer4.')
        ]
        assert others
        for key in others + [
                'target.' + k for k in others if 'target.' + k in cold
        ]:
            assert torch.equal(cold[key], warm[key]), key
    # and the recipe's zero-init of the C4 res5 does not survive a warm start
    c4 = _build('c4', _warm(path))
    assert c4.shared_head.layer4[0].norm2.weight.abs().sum() > 0


def test_mmpretrain_layout_ignores_neck_head_and_preprocessor(
        tmp_path, torchvision_r18):
    state, _ = torchvision_r18
    ckpt = {'backbone.' + k: v for k, v in state.items() if k[:3] != 'fc.'}
    ckpt.update({
        'neck.mlp.0.weight': torch.ones(3),
        'head.predictor.weight': torch.ones(3),
        'data_preprocessor.mean': torch.ones(3),
    })
    path = save_mmengine_checkpoint(ckpt, tmp_path / 'mmpretrain.pth')
    for layout in ('auto', 'mmpretrain'):
        _assert_backbone_is(_build('byol', _warm(path, layout=layout)), state)


@pytest.mark.parametrize('net', ['online', 'target'])
def test_mmsoco_c4_checkpoint_gives_res5_back(tmp_path, net):
    soco = soco_state_dict('c4', seed=5)
    path = save_mmengine_checkpoint(soco, tmp_path / 'c4.pth')
    prefix = '' if net == 'online' else 'target.'
    expected = {}
    for key, value in soco.items():
        for part in ('backbone.', 'shared_head.'):
            if key.startswith(prefix + part):
                expected[key[len(prefix + part):]] = value
    model = _build('fpn', _warm(path, layout=f'mmsoco_{net}'))
    _assert_backbone_is(model, expected)


class _RecordBackbone(Hook):
    """Keeps the model's state as training starts (after init_weights)."""

    states = []

    def before_train(self, runner):
        self.states.append(copy.deepcopy(runner.model.state_dict()))


HOOKS.register_module(
    name='WarmStartTestRecorder', module=_RecordBackbone, force=True)


def _train_cfg(base, model_cfg, work_dir, data_root, iters=1):
    cfg = Config.fromfile(base)
    cfg.model = Config.fromfile(model_cfg).model if model_cfg else cfg.model
    cfg.model.data_preprocessor = dict(type='SoCoDataPreprocessor')
    cfg.work_dir = str(work_dir)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[1]['cache_dir'] = str(work_dir) + '_cache'
    for view, size in zip(pipeline[2]['views'], (64, 64, 32)):
        view['size'] = size
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer.vis_backends = []
    cfg.visualizer.name = f'warm_start_{work_dir.name}'
    return cfg


@pytest.fixture(scope='module')
def byol_checkpoint(tmp_path_factory, demo_data_root):
    """A real mmsoco BYOL checkpoint: one training iteration of the demo
    BYOL (ResNet-18) through mmengine's Runner."""
    work = tmp_path_factory.mktemp('byol') / 'work'
    cfg = _train_cfg('configs/baselines/byol_r18_demo.py',
                     TINY_CONFIGS['byol'], work, demo_data_root)
    Runner.from_cfg(cfg).train()
    path = str(work / 'iter_1.pth')
    return torch.load(path, weights_only=True)['state_dict'], path


@pytest.mark.parametrize('net', ['online', 'target'])
def test_trained_byol_checkpoint_starts_soco(byol_checkpoint, net):
    state, path = byol_checkpoint
    prefix = 'target.backbone.' if net == 'target' else 'backbone.'
    expected = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    # online and target of a trained BYOL differ: the test can tell them
    assert not torch.equal(state['backbone.conv1.weight'],
                           state['target.backbone.conv1.weight'])
    layout = 'auto' if net == 'online' else 'mmsoco_target'
    _assert_backbone_is(_build('fpn', _warm(path, layout=layout)), expected)


def test_runner_warm_start_then_trains(byol_checkpoint, demo_data_root,
                                       tmp_path):
    """tools/train.py's path: the Runner initialises SoCo from the BYOL
    checkpoint before the first iteration, then trains."""
    state, path = byol_checkpoint
    cfg = _train_cfg('configs/soco/soco_r18fpn_demo.py', TINY_CONFIGS['fpn'],
                     tmp_path / 'work', demo_data_root)
    cfg.model.init_cfg = _warm(path)
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='WarmStartTestRecorder')]
    _RecordBackbone.states.clear()
    Runner.from_cfg(cfg).train()
    start = _RecordBackbone.states[-1]
    for key, value in state.items():
        if key.startswith('backbone.'):
            assert torch.equal(start[key], value), key
            assert torch.equal(start['target.' + key], value), key
    assert (tmp_path / 'work' / 'iter_1.pth').is_file()
    # mmengine logs the init info (the recipe's, for the backbone too)
    # before the warm start: the warm start's line says it overrides it.
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    init_info = log.index('Name of parameter - Initialization information')
    warm = log.index(f'PretrainedBackbone: {path} loaded into backbone.*, '
                     'after the init info logged above: for these tensors '
                     'it overrides that record')
    assert init_info < warm


def test_frozen_backbone_stays_loaded_and_mirrored(torchvision_r18):
    """frozen_stages=4 (all of ResNet-18): no gradient, eval-mode BN, and
    the EMA target's copy stays the loaded backbone (up to the rounding of
    tau * x + (1 - tau) * x)."""
    state, path = torchvision_r18
    model = _build('byol', _warm(path), frozen_stages=4).train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    for net in (model.backbone, model.target.backbone):
        norms = [
            m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)
        ]
        assert norms and not any(m.training for m in norms)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(2):
        inputs = [torch.randn(2, 3, 32, 32, generator=gen) for _ in range(3)]
        losses = model.loss(inputs, None)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optimizer.step()
        optimizer.zero_grad()
        model.update_target(10)
    online, target = model.backbone.state_dict(), \
        model.target.backbone.state_dict()
    for key, value in state.items():
        if key.startswith('fc.'):
            continue
        assert torch.equal(online[key], value), key  # frozen: untouched
        if value.is_floating_point() and 'running' not in key:
            assert torch.allclose(target[key], value, rtol=1e-6, atol=0), key
        else:  # eval-mode BN: statistics stay the loaded ones
            assert torch.equal(target[key], value), key
    assert not torch.equal(model.target.projector.linear1.weight,
                           model.projector.linear1.weight)


@pytest.mark.parametrize('make,words', [
    (lambda d: torch.save({}, d / 'x.pth'), 'holds no state dict'),
    (lambda d: (d / 'x.pth').write_bytes(b'not a checkpoint'),
     'not a readable torch checkpoint'),
    (lambda d: torch.save(
        _randomised(torchvision.models.resnet34().state_dict(), 0), d / 'x.pth'
    ), 'have no place in the model: .*layer1.2'),
    (lambda d: torch.save({'encoder.w': torch.ones(2)}, d / 'x.pth'),
     'cannot tell the layout .*encoder.w'),
    (lambda d: torch.save(
        {
            k: v
            for k, v in torchvision.models.resnet18().state_dict().items()
            if not k.startswith('layer4.')
        }, d / 'x.pth'), 'tensors of the model have no source in the '
     r'checkpoint: backbone\.layer4\.0\.conv1\.weight'),
])
def test_wrong_or_empty_checkpoint_is_refused(tmp_path, make, words):
    make(tmp_path)
    with pytest.raises(WarmStartError, match=words):
        _build('fpn', _warm(str(tmp_path / 'x.pth')))


def test_missing_file_remote_path_and_wrong_module(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.init_cfg.checkpoint'):
        _build('byol', _warm(str(tmp_path / 'none.pth')))
    with pytest.raises(WarmStartError, match='local files only'):
        _build('byol', _warm('https://download.pytorch.org/r18.pth'))
    with pytest.raises(ValueError, match='layout must be one of'):
        _build('byol', _warm('x.pth', layout='caffe'))
    from mmsoco.models.utils.pretrained_backbone import PretrainedBackbone
    with pytest.raises(TypeError, match='SoCo / BYOL model'):
        PretrainedBackbone('x.pth')(torch.nn.Linear(1, 1))

"""Pretraining configs: resolve, take the architecture from _base_/models, recipe numbers."""
import glob
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmsoco.models  # noqa: F401
from mmsoco.registry import MODELS

# The warm-start recipes (soco-warm_*) are checked in test_warm_configs.py.
CONFIGS = sorted(
    c for c in glob.glob('configs/soco/*.py') +
    glob.glob('configs/baselines/*.py')
    if not osp.basename(c).startswith('soco-warm_'))
ARCH = {
    'fpn': Config.fromfile('configs/_base_/models/r50_fpn_4conv1fc.py'),
    'c4': Config.fromfile('configs/_base_/models/r50_c4.py'),
    'r18': Config.fromfile('configs/_base_/models/r18_fpn_4conv1fc.py'),
}
# config -> (architecture, number of contrasted view pairs, epochs)
EXPECTED = {
    'soco_r50fpn_100e.py': ('fpn', 2, 100),
    'soco_r50fpn_400e.py': ('fpn', 2, 400),
    'soco-star_r50fpn_400e.py': ('fpn', 3, 400),
    'soco_r50fpn_400e_coco.py': ('fpn', 2, 400),
    'soco_r50c4_100e.py': ('c4', 1, 100),
    'soco_r50c4_400e.py': ('c4', 1, 400),
    'soco_r18fpn_demo.py': ('r18', 2, 20),
    'byol_r50_400e.py': ('fpn', 2, 400),
}
EXPECTED.update({
    name.replace('.py', '_fast.py'): spec
    for name, spec in EXPECTED.items() if name.startswith('soco')
})
EXPECTED.update({
    'byol_r18_demo.py': ('r18', 2, 20),
})


def _views_step(cfg):
    steps = [
        s for s in cfg.train_dataloader.dataset.pipeline
        if s['type'] == 'MultiViewBoxJitter'
    ]
    assert len(steps) == 1
    return steps[0]


def test_every_expected_config_exists():
    assert sorted(osp.basename(c) for c in CONFIGS) == sorted(EXPECTED)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_recipe(path):
    cfg = Config.fromfile(path)
    arch_name, num_pairs, epochs = EXPECTED[osp.basename(path)]
    arch = ARCH[arch_name]
    model = cfg.model
    assert cfg.default_scope == 'mmsoco'
    assert model.data_preprocessor.type == 'SoCoDataPreprocessor'
    # the paper's recipes count the EMA schedule as the reference (row 22)
    assert [h.type for h in cfg.custom_hooks] == ['MomentumUpdateHook']
    paper_soco = model.type == 'SoCo' and 'demo' not in osp.basename(path)
    assert cfg.custom_hooks[0].get(
        'schedule_length', 'run') == ('reference' if paper_soco else 'run')
    assert model.base_momentum == 0.99 and model.end_momentum == 1.0
    # The architecture comes from the detector's base file, unchanged.
    assert model.backbone == arch.backbone
    if model.type == 'SoCo':
        # Reference batching unless the recipe is a _fast twin.
        fast = osp.basename(path).endswith('_fast.py')
        assert model.head_batching == ('mixed_levels' if fast else 'per_level')
        if fast:
            reference = Config.fromfile(path.replace('_fast.py', '.py'))
            reference.model.head_batching = 'mixed_levels'
            assert reference.to_dict() == cfg.to_dict()
        if arch_name == 'c4':
            assert model.shared_head == arch.shared_head
            assert model.roi_extractor.roi_layer.output_size == 14
            assert model.roi_extractor.featmap_strides == [16]
        else:
            assert model.neck == arch.neck
            assert model.bbox_head == dict(
                type='ConvFCFeatureHead', **arch.bbox_head_trunk)
            assert model.roi_extractor.roi_layer == dict(
                type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)
            assert tuple(model.roi_extractor.scale_ranges) == \
                (48, 96, 192, 224)
    assert len(_views_step(cfg)['view_pairs']) == num_pairs
    # Optimiser and schedule (docs/method.md section 4).
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay,
            opt.trust_coefficient) == ('LARS', 0.9, 1e-5, 0.001)
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert all(v['lars_exclude'] and v['decay_mult'] == 0
               for v in keys.values())
    assert cfg.train_cfg.max_epochs == epochs
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearWarmupLR' and warmup.start_factor == 0.01
    assert cosine.type == 'CosineAnnealingLR' and cosine.eta_min == 1e-6
    assert cosine.end == epochs
    assert warmup.convert_to_iter_based and cosine.convert_to_iter_based
    if arch_name == 'r18':
        assert warmup.end == 2
        assert cfg.model.backbone.norm_cfg.type == 'BN'
        assert cfg.model.projector.norm_cfg.type == 'BN1d'
    else:
        assert warmup.end == 10
        # lr = 1.0 * batch / 256 for 8 GPUs x 256.
        assert cfg.train_dataloader.batch_size == 256
        assert opt.lr == 1.0 * 8 * 256 / 256
        assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=2048)
        assert model.backbone.norm_cfg.type == 'SyncBN'
        assert model.projector.norm_cfg.type == 'SyncBN'
        assert model.predictor.norm_cfg.type == 'SyncBN'


@pytest.mark.parametrize('name,head_keys,proj_in', [
    ('soco_r50fpn_400e.py', {
        'bbox_head.shared_fcs.0.weight': (1024, 12544),
        'bbox_head.shared_convs.3.conv.weight': (256, 256, 3, 3)
    }, 1024),
    ('soco_r50c4_100e.py', {
        'shared_head.layer4.0.conv1.weight': (512, 1024, 1, 1)
    }, 2048),
])
def test_r50_models_build_with_the_contract_keys(name, head_keys, proj_in):
    cfg = Config.fromfile(f'configs/soco/{name}')
    init_default_scope('mmsoco')
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    for key, shape in head_keys.items():
        assert tuple(state[key].shape) == shape
        assert tuple(state['target.' + key].shape) == shape
    assert state['projector.linear1.weight'].shape[1] == proj_in
    assert 'predictor.linear2.weight' in state
    assert not any(k.startswith('target.predictor') for k in state)
    # LARS groups: exactly the BN and bias parameters (the 1-D ones) are
    # excluded from decay and scaling.
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    group_of = {
        id(p): g
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    for pname, p in model.named_parameters():
        if pname.startswith('target.'):
            continue
        group = group_of[id(p)]
        assert group.get('lars_exclude', False) == (p.ndim == 1), pname


def test_byol_demo_trains_two_iterations(tmp_path, demo_data_root):
    from mmengine.runner import Runner
    cfg = Config.fromfile('configs/baselines/byol_r18_demo.py')
    cfg.work_dir = str(tmp_path / 'work')
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[1]['cache_dir'] = str(tmp_path / 'cache')
    for view, size in zip(pipeline[2]['views'], (64, 64, 32)):
        view['size'] = size
    cfg.train_dataloader.dataset.data_root = str(demo_data_root)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer.vis_backends = []
    runner = Runner.from_cfg(cfg)
    before = runner.model.target.backbone.conv1.weight.clone()
    runner.train()
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    assert not torch.equal(before, runner.model.target.backbone.conv1.weight)


def test_demo_proposal_cache_follows_the_data_not_the_cwd(
        tmp_path, demo_data_root, monkeypatch):
    """The demo config's cache is <data_root>/proposal_cache: with data_root
    moved (an absolute override) and run from another directory, nothing
    lands in ./data/demo."""
    import shutil

    from mmsoco.registry import DATASETS
    data_root = tmp_path / 'my_demo'
    shutil.copytree(demo_data_root / 'images', data_root / 'images')
    shutil.copytree(demo_data_root / 'annotations', data_root / 'annotations')
    cfg = Config.fromfile(osp.abspath('configs/soco/soco_r18fpn_demo.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(data_root) + '/'
    dataset_cfg.indices = 1
    dataset_cfg.pipeline = dataset_cfg.pipeline[:2]  # load, proposals
    cwd = tmp_path / 'cwd'
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    init_default_scope('mmsoco')
    DATASETS.build(dataset_cfg)[0]
    assert len(os.listdir(data_root / 'proposal_cache')) == 1
    assert os.listdir(cwd) == []


def _view_sides(cfg):
    step = next(s for s in cfg.train_dataloader.dataset.pipeline
                if s['type'] == 'MultiViewBoxJitter')
    for view in step['views']:
        size = view['size']
        yield from (size if isinstance(size, (tuple, list)) else (size, ))


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if osp.basename(p).startswith('soco')])
def test_readme_scalar_ranges_hold_for_every_soco_config(path):
    """README ("Collapse read-outs"): ``dropped_boxes`` is 0 for every
    shipped recipe, since a box is clipped to its view and no view side
    exceeds the last scale range; ``proj_std`` is at most 1/sqrt(d) of the
    projector's d outputs, the numbers the README quotes."""
    cfg = Config.fromfile(path)
    extractor = cfg.model.roi_extractor
    if extractor.get('level_mapping', 'scale_aware') == 'scale_aware' and \
            extractor.get('oversize', 'drop') == 'drop':
        assert max(_view_sides(cfg)) <= extractor.scale_ranges[-1]
    with open('README.md') as f:
        readme = ' '.join(f.read().split())
    d = cfg.model.projector.out_channels
    assert f'{d}-d projector' in readme
    assert f'1/sqrt({d}) = {d ** -0.5:.4f}' in readme

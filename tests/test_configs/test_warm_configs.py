"""The warm-start recipes (configs/soco/soco-warm_*.py): the paper's model and
LARS with a backbone checkpoint, a short schedule and the two options
(backbone lr factor, frozen stages); the R50 recipe's model takes
torchvision's own ResNet-50 whole, online and target."""
import glob
import os.path as osp

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mmsoco.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WARM = sorted(glob.glob(osp.join(REPO, 'configs', 'soco', 'soco-warm_*.py')))
#: recipe -> (data, epochs, backbone)
EXPECTED = {
    'soco-warm_r50fpn_12e_coco.py': ('coco', 12, 'ResNet'),
    'soco-warm_r50fpn_24e_coco.py': ('coco', 24, 'ResNet'),
    'soco-warm_r50fpn_12e.py': ('imagenet', 12, 'ResNet'),
    'soco-warm_swin-t-fpn_12e_coco.py': ('coco', 12, 'SwinTransformer'),
}
PAPER = osp.join(REPO, 'configs', 'soco', 'soco_r50fpn_400e.py')
PAPER_COCO = osp.join(REPO, 'configs', 'soco', 'soco_r50fpn_400e_coco.py')


def test_every_warm_recipe_is_checked():
    assert sorted(osp.basename(p) for p in WARM) == sorted(EXPECTED)


@pytest.mark.parametrize('path', WARM, ids=osp.basename)
def test_warm_recipe(path):
    data, epochs, backbone = EXPECTED[osp.basename(path)]
    cfg = Config.fromfile(path)
    paper = Config.fromfile(PAPER_COCO if data == 'coco' else PAPER)
    model = cfg.model
    assert model.init_cfg.type == 'PretrainedBackbone'
    assert model.init_cfg.layout == 'auto'
    assert model.backbone.type == backbone
    if backbone == 'ResNet':
        # the paper's model, plus the checkpoint and the frozen-stage option
        assert model.backbone.frozen_stages == -1  # the default: trainable
        assert {k: v for k, v in model.items() if k != 'init_cfg'} == \
            paper.model.to_dict()
    # the paper's data (views, proposals, images), optimiser and batch
    assert cfg.train_dataloader == paper.train_dataloader
    assert cfg.optim_wrapper.optimizer == paper.optim_wrapper.optimizer
    for key, value in paper.optim_wrapper.paramwise_cfg.custom_keys.items():
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys[key] == value
    assert cfg.optim_wrapper.constructor == 'PrefixLrMultConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.prefix_lr_mult == dict(backbone=1.0)
    assert cfg.custom_hooks == paper.custom_hooks
    # a short schedule: one warm-up epoch, cosine to the end
    assert cfg.train_cfg.max_epochs == epochs
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearWarmupLR',
                                                              0.01, 1)
    assert (cosine.type, cosine.begin, cosine.end, cosine.T_max,
            cosine.eta_min) == ('CosineAnnealingLR', 1, epochs, epochs - 1,
                                1e-6)
    # the estimated cost is written beside the recipe
    assert 'V100-hours' in open(path).read()


def _cpu(model_cfg):
    for part in ('backbone', 'neck', 'bbox_head'):
        if 'norm_cfg' in model_cfg[part]:
            model_cfg[part].norm_cfg = dict(type='BN', requires_grad=True)
    for part in ('projector', 'predictor'):
        model_cfg[part].norm_cfg = dict(type='BN1d')
    model_cfg.data_preprocessor = None
    return model_cfg


@pytest.mark.timeout(300)
def test_r50_recipe_starts_from_torchvision_resnet50(tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'soco', 'soco-warm_r50fpn_12e_coco.py'))
    state = torchvision.models.resnet50().state_dict()
    path = str(tmp_path / 'resnet50.pth')
    torch.save(state, path)
    model_cfg = _cpu(cfg.model)
    model_cfg.init_cfg.checkpoint = path
    model_cfg.backbone.frozen_stages = 1
    with DefaultScope.overwrite_default_scope('mmsoco'):
        model = MODELS.build(model_cfg)
        model.init_weights()
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    loaded = model.state_dict()
    for key, value in state.items():
        if not key.startswith('fc.'):
            assert torch.equal(loaded['backbone.' + key], value), key
            assert torch.equal(loaded['target.backbone.' + key], value), key
    # frozen: stem + res2 out of the optimiser; the rest at lr 8.0
    in_groups = {
        id(p)
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    for name, param in model.named_parameters():
        if name.startswith('target.'):
            continue
        frozen = name.startswith(
            ('backbone.conv1', 'backbone.bn1', 'backbone.layer1.'))
        assert (id(param) in in_groups) != frozen, name

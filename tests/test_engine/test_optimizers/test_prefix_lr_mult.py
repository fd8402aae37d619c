"""PrefixLrMultConstructor: a backbone learning-rate factor that keeps the
LARS exclusions of the paper's paramwise_cfg, frozen stages left out, and the
ratio kept by the schedule."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from mmengine.registry import DefaultScope

from mmsoco.engine.optimizers.prefix_lr_mult import lr_mult_of
from mmsoco.registry import MODELS
from soco_checkpoint import TINY_CONFIGS

LARS_SCHEDULE = 'configs/_base_/schedules/lars_coslr_100e.py'


def _model(frozen_stages=-1):
    cfg = Config.fromfile(TINY_CONFIGS['fpn']).model
    cfg.data_preprocessor = None
    cfg.backbone.frozen_stages = frozen_stages
    with DefaultScope.overwrite_default_scope('mmsoco'):
        return MODELS.build(cfg)


def _wrapper(model, mults):
    cfg = Config.fromfile(LARS_SCHEDULE).optim_wrapper
    cfg.constructor = 'PrefixLrMultConstructor'
    cfg.paramwise_cfg.prefix_lr_mult = mults
    with DefaultScope.overwrite_default_scope('mmsoco'):
        return build_optim_wrapper(model, cfg)


def _groups(model, wrapper):
    group_of = {
        id(p): g
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    return {
        name: group_of.get(id(p))
        for name, p in model.named_parameters()
        if not name.startswith('target.')
    }


def test_lr_mult_of_takes_the_longest_module_path():
    mults = {'backbone': 0.1, 'backbone.layer4': 0.5, 'neck': 2.0}
    assert lr_mult_of('backbone.conv1.weight', mults) == 0.1
    assert lr_mult_of('backbone.layer4.0.bn1.weight', mults) == 0.5
    assert lr_mult_of('backbone2.weight', mults) == 1.0
    assert lr_mult_of('bbox_head.shared_fcs.0.weight', mults) == 1.0


def test_backbone_factor_keeps_the_lars_exclusions():
    model = _model()
    groups = _groups(model, _wrapper(model, dict(backbone=0.1)))
    base_lr, base_wd = 8.0, 1e-5
    for name, param in model.named_parameters():
        if name.startswith('target.'):
            continue
        group = groups[name]
        expected_lr = base_lr * (0.1 if name.startswith('backbone.') else 1)
        assert group['lr'] == pytest.approx(expected_lr), name
        # the paper's rule: exactly the 1-D (BN, bias) parameters excluded
        one_d = param.ndim == 1
        assert group.get('lars_exclude', False) == one_d, name
        assert group.get('weight_decay',
                         base_wd) == (0 if one_d else base_wd), name


def test_frozen_stages_have_no_group_and_schedules_keep_the_ratio():
    model = _model(frozen_stages=1)  # stem and res2 frozen
    wrapper = _wrapper(model, dict(backbone=0.25))
    groups = _groups(model, wrapper)
    for name, group in groups.items():
        frozen = name.startswith(
            ('backbone.conv1', 'backbone.bn1', 'backbone.layer1.'))
        assert (group is None) == frozen, name
    optimizer = wrapper.optimizer
    warmup = LinearLR(optimizer, start_factor=0.01, begin=0, end=2)
    cosine = CosineAnnealingLR(optimizer, T_max=4, eta_min=0, begin=2, end=6)
    conv = groups['backbone.layer2.0.conv1.weight']
    head = groups['bbox_head.shared_fcs.0.weight']
    for _ in range(4):
        assert conv['lr'] == pytest.approx(0.25 * head['lr'], rel=1e-9)
        optimizer.step()
        warmup.step()
        cosine.step()


def test_bad_factor_is_refused_and_no_paramwise_cfg_still_works():
    model = _model()
    with pytest.raises(ValueError, match=r"prefix_lr_mult\['backbone'\]"):
        _wrapper(model, dict(backbone=-1))
    cfg = dict(
        constructor='PrefixLrMultConstructor',
        optimizer=dict(type='SGD', lr=1.0),
        paramwise_cfg=dict(prefix_lr_mult=dict(neck=0.5)))
    with DefaultScope.overwrite_default_scope('mmsoco'):
        wrapper = build_optim_wrapper(model, cfg)
    groups = _groups(model, wrapper)
    assert groups['neck.lateral_convs.0.conv.weight']['lr'] == 0.5
    assert groups['backbone.conv1.weight'].get('lr', 1.0) == 1.0
    assert isinstance(wrapper.optimizer, torch.optim.SGD)


def test_the_ema_target_is_left_out_as_by_the_online_constructor():
    model = _model()
    optimised = {
        id(p)
        for g in _wrapper(model, dict(backbone=0.1)).optimizer.param_groups
        for p in g['params']
    }
    assert not optimised & {id(p) for p in model.target.parameters()}
    assert optimised == {
        id(p)
        for name, p in model.named_parameters()
        if not name.startswith('target.')
    }

"""LARS: trust-ratio scaling, exclusion of BN / bias through paramwise_cfg."""
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmsoco.engine.optimizers import LARS


def _grads(params, seed):
    gen = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)


def test_excluded_parameter_moves_like_plain_sgd():
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(5))
    w_sgd = nn.Parameter(w.detach().clone())
    lars = LARS([dict(params=[w], lars_exclude=True, weight_decay=0.)],
                lr=0.3,
                momentum=0.9,
                weight_decay=1e-2)
    sgd = torch.optim.SGD([w_sgd], lr=0.3, momentum=0.9)
    for step in range(3):
        _grads([w], step)
        _grads([w_sgd], step)
        lars.step()
        sgd.step()
    assert torch.allclose(w, w_sgd, atol=1e-7)


def test_scaled_parameter_follows_the_trust_ratio():
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(4, 3))
    w0 = w.detach().clone()
    lars = LARS([w],
                lr=0.5,
                momentum=0.9,
                weight_decay=1e-2,
                trust_coefficient=0.001)
    _grads([w], 0)
    g = w.grad.clone()
    lars.step()
    d = g + 1e-2 * w0
    ratio = 0.001 * w0.norm() / (d.norm() + 1e-8)
    expected = w0 - 0.5 * ratio * d
    assert torch.allclose(w, expected, atol=1e-7)
    # Second step: momentum on the scaled direction.
    w1 = w.detach().clone()
    _grads([w], 1)
    g1 = w.grad.clone()
    lars.step()
    d1 = g1 + 1e-2 * w1
    buf = 0.9 * (ratio * d) + 0.001 * w1.norm() / (d1.norm() + 1e-8) * d1
    assert torch.allclose(w, w1 - 0.5 * buf, atol=1e-7)


def test_zero_norm_parameter_is_not_frozen():
    w = nn.Parameter(torch.zeros(3, 3))
    lars = LARS([w], lr=1.0, momentum=0.)
    w.grad = torch.ones(3, 3)
    lars.step()
    assert torch.allclose(w, -torch.ones(3, 3))  # ratio 1 when ||w|| = 0


def test_paramwise_cfg_reaches_the_param_groups():
    cfg = Config.fromfile('configs/_base_/schedules/lars_coslr_100e.py')
    model = nn.Sequential()
    model.add_module('conv', nn.Conv2d(3, 4, 3))
    model.add_module('bn', nn.BatchNorm2d(4))
    model.add_module('downsample',
                     nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)))
    init_default_scope('mmsoco')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper.optimizer, LARS)
    by_param = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            by_param[id(p)] = group
    for name, p in model.named_parameters():
        group = by_param[id(p)]
        assert group['lars_exclude'] == (p.ndim == 1), name
        assert group['weight_decay'] == (0. if p.ndim == 1 else 1e-5), name

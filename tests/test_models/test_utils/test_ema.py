"""EMA target: cosine momentum schedule, parameter-only update, the hook."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from mmsoco.engine.hooks import MomentumUpdateHook
from mmsoco.models.utils import (build_momentum_target,
                                 copy_online_to_target_, cosine_momentum,
                                 momentum_update_)


def test_cosine_momentum_formula():
    K = 1000
    assert cosine_momentum(0, K) == pytest.approx(0.99)
    assert cosine_momentum(K, K) == pytest.approx(1.0)
    assert cosine_momentum(K // 2, K) == pytest.approx(0.995)
    for k in (1, 37, 250, 999):
        tau = 1 - (1 - 0.99) * (math.cos(math.pi * k / K) + 1) / 2
        assert cosine_momentum(k, K) == pytest.approx(tau, abs=1e-12)
    assert cosine_momentum(K + 5, K) == pytest.approx(1.0)
    assert cosine_momentum(10, 20, 0.9, 0.95) == pytest.approx(0.925)
    with pytest.raises(ValueError):
        cosine_momentum(1, 0)


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_update_touches_parameters_only():
    torch.manual_seed(0)
    online = nn.ModuleDict(dict(a=_net()))
    target = build_momentum_target(dict(online.items()))
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        online['a'][1].running_mean.fill_(7.0)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    momentum_update_(target, online, 0.9)
    for name, p in online.named_parameters():
        expected = 0.9 * before[name] + 0.1 * p
        assert torch.allclose(target.state_dict()[name], expected)
    # Buffers keep the target's own statistics.
    assert torch.equal(target['a'][1].running_mean, before['a.1.running_mean'])
    copy_online_to_target_(target, online)
    assert all(
        torch.equal(v, online.state_dict()[k])
        for k, v in target.state_dict().items())


def test_mismatched_networks_are_refused():
    online = nn.ModuleDict(dict(a=_net()))
    target = nn.ModuleDict(dict(b=_net()))
    with pytest.raises(KeyError):
        momentum_update_(target, online, 0.5)


def test_hook_passes_runner_iteration_and_total():
    calls = []
    scalars = {}
    model = SimpleNamespace(
        update_target=lambda k, K: calls.append((k, K)) or 0.995)
    hub = SimpleNamespace(update_scalar=scalars.__setitem__)
    runner = SimpleNamespace(
        model=model, iter=6, max_iters=40, message_hub=hub)
    MomentumUpdateHook().after_train_iter(runner, 0)
    assert calls == [(7, 40)]  # 7 optimiser steps done after iteration 6
    assert scalars == {'train/momentum': 0.995}

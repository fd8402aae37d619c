"""LinearWarmupLR and the pretraining schedules against the reference's
learning rates, iteration by iteration."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsoco.registry import PARAM_SCHEDULERS


def reference_lrs(base,
                  warmup_iters,
                  total_iters,
                  multiplier=100,
                  eta_min=1e-6):
    """The reference's lr of every iteration (0-based), written from its
    scheduler: ``GradualWarmupScheduler`` (base / multiplier, rising
    linearly, ``base`` at iteration ``warmup_iters``), then torch's cosine
    from ``base`` to ``eta_min`` over the remaining iterations, in closed
    form (it is stepped with an explicit epoch)."""
    cosine_iters = total_iters - warmup_iters
    lrs = []
    for i in range(total_iters):
        if i <= warmup_iters:
            lrs.append(base / multiplier *
                       ((multiplier - 1.) * i / warmup_iters + 1.))
        else:
            t = i - warmup_iters
            lrs.append(eta_min + (base - eta_min) *
                       (1 + math.cos(math.pi * t / cosine_iters)) / 2)
    return lrs


def scheduled_lrs(param_scheduler, base, epoch_length, total_iters):
    """The lr mmengine's runner uses in every iteration, with the
    schedulers built as it builds them (iteration-based from epochs)."""
    init_default_scope('mmsoco')
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base)
    schedulers = [
        PARAM_SCHEDULERS.build(
            cfg,
            default_args=dict(optimizer=optimizer, epoch_length=epoch_length))
        for cfg in param_scheduler
    ]
    lrs = []
    for _ in range(total_iters):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


@pytest.mark.parametrize('schedule', [
    'lars_coslr_100e', 'lars_coslr_400e', 'lars_coslr_warm_12e',
    'lars_coslr_warm_24e'
])
def test_recipe_schedules_are_the_references_lrs(schedule):
    cfg = Config.fromfile(f'configs/_base_/schedules/{schedule}.py')
    base, epoch_length = cfg.optim_wrapper.optimizer.lr, 7
    total = cfg.max_epochs * epoch_length
    warmup = cfg.warmup_epochs * epoch_length
    ours = scheduled_lrs(cfg.param_scheduler, base, epoch_length, total)
    expected = reference_lrs(base, warmup, total)
    assert ours[warmup - 1] < base and ours[warmup] == pytest.approx(base)
    assert ours == pytest.approx(expected, rel=1e-6)


def test_linear_warmup_reaches_the_base_at_end_where_linearlr_is_early():
    warmup, total = 10, 30
    cosine = dict(
        type='CosineAnnealingLR',
        T_max=total - warmup,
        eta_min=1e-6,
        by_epoch=False,
        begin=warmup,
        end=total)
    expected = reference_lrs(1.0, warmup, total)
    ours = scheduled_lrs([
        dict(
            type='LinearWarmupLR',
            start_factor=0.01,
            by_epoch=False,
            begin=0,
            end=warmup), cosine
    ], 1.0, 1, total)
    assert ours == pytest.approx(expected, rel=1e-9)
    # hand-worked: iteration 5 of 10 is 0.01 + 0.99 * 5 / 10
    assert ours[5] == pytest.approx(0.505, rel=1e-12)
    plain = scheduled_lrs([
        dict(
            type='LinearLR',
            start_factor=0.01,
            by_epoch=False,
            begin=0,
            end=warmup), cosine
    ], 1.0, 1, total)
    assert plain[warmup - 1] == pytest.approx(1.0)  # one iteration early
    assert plain[5] == pytest.approx(0.01 + 0.99 * 5 / 9)


def test_resumes_mid_warmup():
    """Its state (the shifted end, the divisor) round-trips through a
    checkpoint: a rebuilt scheduler continues the same lrs."""
    init_default_scope('mmsoco')
    cfg = dict(
        type='LinearWarmupLR',
        start_factor=0.01,
        by_epoch=False,
        begin=0,
        end=10)

    def build():
        param = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([param], lr=1.0)
        return optimizer, PARAM_SCHEDULERS.build(
            cfg, default_args=dict(optimizer=optimizer))

    optimizer, scheduler = build()
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    resumed_optimizer, resumed = build()
    resumed_optimizer.load_state_dict(optimizer.state_dict())
    resumed.load_state_dict(scheduler.state_dict())
    for _ in range(8):
        for opt, sched in ((optimizer, scheduler), (resumed_optimizer,
                                                    resumed)):
            opt.step()
            sched.step()
        assert resumed_optimizer.param_groups[0]['lr'] == \
            optimizer.param_groups[0]['lr']
    assert optimizer.param_groups[0]['lr'] == pytest.approx(1.0)


@pytest.mark.parametrize('schedule,warmup', [('sgd_90k', 1000),
                                             ('sgd_voc_24k', 100)])
def test_finetune_warmup_is_detectron2s(schedule, warmup):
    """detectron2's linear warm-up (``WarmupParamScheduler``): factor
    ``0.001 * (1 - i / W) + i / W`` at iteration i < W, 1 from W on."""
    cfg = Config.fromfile(
        f'configs/benchmarks/mmdet/_base_/schedules/{schedule}.py')
    base = cfg.optim_wrapper.optimizer.lr
    total = warmup + 50
    ours = scheduled_lrs(cfg.param_scheduler, base, 1, total)
    expected = [
        base * (0.001 * (1 - i / warmup) + i / warmup if i < warmup else 1.)
        for i in range(total)
    ]
    assert ours == pytest.approx(expected, rel=1e-9)

"""EMA target: cosine schedule, parameter-only update, counted in optimiser
steps (gradient accumulation), driven by the hook in a real Runner."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.runner import Runner

from mmsoco.engine.hooks import MomentumUpdateHook  # noqa: F401 (registers)
from mmsoco.models.algorithms.base import BaseMomentumModel
from mmsoco.models.utils import (CosineEMATarget, cosine_momentum,
                                 optimizer_steps)
from mmsoco.registry import MODELS


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


def test_step_moves_parameters_only_with_the_scheduled_momentum():
    torch.manual_seed(0)
    online = nn.ModuleDict(dict(a=_net()))
    target = CosineEMATarget(online, base_momentum=0.5)
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        online['a'][1].running_mean.fill_(7.0)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    # step 1 of 4: tau = 1 - 0.5 * (cos(pi / 4) + 1) / 2, by hand
    tau = 1 - 0.5 * (math.sqrt(0.5) + 1) / 2
    assert target.step(online, 4) == pytest.approx(tau)
    assert int(target.steps) == 1
    for name, p in online.named_parameters():
        expected = tau * before[name] + (1 - tau) * p
        assert torch.allclose(target.state_dict()[name], expected)
    # Buffers keep the target's own statistics.
    assert torch.equal(target['a'][1].running_mean, before['a.1.running_mean'])
    target.reset(online)
    assert int(target.steps) == 0
    assert all(
        torch.equal(v,
                    online.state_dict()[k])
        for k, v in target.state_dict().items() if k != 'steps')


def test_mismatched_networks_are_refused():
    target = CosineEMATarget(nn.ModuleDict(dict(a=_net())))
    with pytest.raises(KeyError):
        target.step(nn.ModuleDict(dict(a=nn.Linear(3, 4))), 10)


def test_optimizer_steps():
    assert optimizer_steps(4, 2) == 2
    assert optimizer_steps(5, 2) == 3  # mmengine steps on the last window
    assert optimizer_steps(7) == 7


@pytest.mark.parametrize('epochs,reference_k,steps', [(100, 62556, 62500),
                                                      (400, 250227, 250000)])
def test_schedule_length_against_the_references(epochs, reference_k, steps):
    """docs/reference_parity.md row 22: the reference's K is
    int(N / world / batch * epochs) (N = 1,281,167 ImageNet-1K images, 16
    GPUs x 128), which counts the partial last batch of every epoch; the run
    takes epochs * floor(ceil(N / world) / batch) steps (distributed sampler
    padding, drop_last), mmsoco's K. The momenta of the two schedules stay
    within 8.3e-6 of each other at every step."""
    n, world, batch = 1281167, 16, 128
    assert int(n * 1. / world / batch * epochs) == reference_k
    assert epochs * (math.ceil(n / world) // batch) == steps
    assert (reference_k - steps) / reference_k == pytest.approx(
        0.0009, abs=0.00005)
    largest = max(
        abs(cosine_momentum(k, steps) - cosine_momentum(k, reference_k))
        for k in range(steps + 1))
    assert 8.0e-6 < largest < 8.3e-6


@MODELS.register_module(force=True)
class TinyMomentumModel(BaseMomentumModel):
    """A 2-layer online network and its target, for Runner tests."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.backbone = nn.Linear(2, 2)
        self.projector = nn.Linear(2, 2)
        self.predictor = nn.Linear(2, 2)
        self._init_target(['backbone', 'projector'])

    def loss(self, inputs, data_samples=None):
        x = inputs.float()
        return dict(
            loss=self.predictor(self.projector(self.backbone(x))).pow(
                2).mean())


RECORD = []


def _record_hook():
    from mmengine.hooks import Hook

    class Recorder(Hook):
        priority = 'LOW'  # after MomentumUpdateHook (NORMAL)

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            model = runner.model
            RECORD.append((model.backbone.weight.detach().clone(),
                           model.target['backbone'].weight.detach().clone(),
                           int(model.target.steps)))

    return Recorder()


def test_runner_counts_optimiser_steps_under_gradient_accumulation(tmp_path):
    RECORD.clear()
    torch.manual_seed(0)
    data = [dict(inputs=torch.randn(2)) for _ in range(8)]
    runner = Runner(
        model=dict(type='TinyMomentumModel', base_momentum=0.5),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.5), accumulative_counts=2),
        train_cfg=dict(by_epoch=False, max_iters=4),
        custom_hooks=[dict(type='MomentumUpdateHook'),
                      _record_hook()],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmsoco')
    start = runner.model.target['backbone'].weight.detach().clone()
    runner.train()
    assert [steps for _, _, steps in RECORD] == [0, 1, 1, 2]
    # 4 iterations, 2 optimiser steps: tau_n = 1 - 0.5 (cos(pi n / 2) + 1)/2
    taus = {1: 0.75, 2: 1.0}
    expected = start
    for (online, target, steps), previous in zip(RECORD, [None] + RECORD):
        if previous is not None and steps == previous[2]:
            assert torch.equal(target, previous[1])  # accumulating: no step
            continue
        if steps == 0:
            assert torch.equal(target, start)
            continue
        expected = taus[steps] * expected + (1 - taus[steps]) * online
        assert torch.allclose(target, expected, atol=1e-7)
    # the online network did move, so the check above is not vacuous
    assert not torch.allclose(RECORD[-1][0], start)


def _epoch_runner(tmp_path, schedule_length, num_items=11, batch=3, epochs=2):
    momenta = []

    from mmengine.hooks import Hook

    class MomentumRecorder(Hook):
        priority = 'LOW'  # after MomentumUpdateHook (NORMAL)

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            momenta.append(
                runner.message_hub.get_scalar('train/momentum').current())

    torch.manual_seed(0)
    runner = Runner(
        model=dict(type='TinyMomentumModel'),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.randn(2)) for _ in range(num_items)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=batch,
            drop_last=True),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        custom_hooks=[
            dict(type='MomentumUpdateHook', schedule_length=schedule_length),
            MomentumRecorder()
        ],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmsoco',
        experiment_name=f'ema_{schedule_length}_{tmp_path.name}')
    return runner, momenta


@pytest.mark.parametrize('schedule_length,K', [('run', 6), ('reference', 7)])
def test_schedule_length_run_and_reference(tmp_path, schedule_length, K):
    """11 images at batch 3 with drop_last: the run takes 3 steps per epoch,
    6 in 2 epochs; the reference counts int(11 / 3 * 2) = 7. The momenta
    are the cosine schedule over K, written out here by hand."""
    runner, momenta = _epoch_runner(tmp_path, schedule_length)
    runner.train()
    expected = [
        1 - (1 - 0.99) * (math.cos(math.pi * k / K) + 1) / 2
        for k in range(1, 7)
    ]
    assert momenta == pytest.approx(expected, abs=1e-12)
    # 'run' ends at the end momentum; 'reference' stops one step short
    assert (momenta[-1] == pytest.approx(1.0)) == (schedule_length == 'run')


def test_reference_schedule_length_needs_an_epoch_based_run(tmp_path):
    with pytest.raises(ValueError, match='schedule_length'):
        MomentumUpdateHook(schedule_length='epochs')
    runner = Runner(
        model=dict(type='TinyMomentumModel'),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.randn(2)) for _ in range(4)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        custom_hooks=[
            dict(type='MomentumUpdateHook', schedule_length='reference')
        ],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmsoco',
        experiment_name=f'ema_iters_{tmp_path.name}')
    with pytest.raises(ValueError, match='epoch-based train loop'):
        runner.train()


def test_paper_recipes_count_k_as_the_reference():
    """docs/reference_parity.md row 22: the ImageNet / COCO SoCo recipes use
    the reference's K."""
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    for name in ('soco_r50fpn_400e.py', 'soco_r50fpn_100e.py',
                 'soco-star_r50fpn_400e.py', 'soco_r50c4_400e.py',
                 'soco_r50fpn_400e_coco.py', 'soco_r50fpn_400e_fast.py'):
        cfg = Config.fromfile(osp.join(repo, 'configs', 'soco', name))
        assert dict(
            type='MomentumUpdateHook',
            schedule_length='reference') in cfg.custom_hooks, name

"""NanGuardHook: a NaN loss stops a real Runner run before it is saved."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmsoco  # noqa: F401  weights-only checkpoint allow-list
from mmsoco.engine.hooks import NanGuardHook, NonFiniteLossError
from mmsoco.engine.hooks.nan_guard_hook import non_finite_loss_terms
from mmsoco.utils import load_checkpoint_weights_only

REPO_CONFIG = 'configs/soco/soco_r18fpn_demo.py'


def _points(n=8):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)
    return [dict(inputs=x[i], target=y[i]) for i in range(n)]


class _PoisonedRegressor(BaseModel):
    """A linear regressor whose loss is multiplied by NaN at call ``poison``:
    the NaN flows back into the weights, as a diverging run's would."""

    def __init__(self, poison):
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.poison, self.calls = poison, 0

    def forward(self, inputs, target, mode='loss'):
        self.calls += 1
        err = ((self.fc(torch.stack(inputs)) - torch.stack(target))**2).mean()
        if self.calls == self.poison:
            err = err * float('nan')
        return dict(
            loss_mse=err,
            loss_l1=torch.tensor(0.5),
            grad_free_readout=torch.tensor(float('nan')))


def _runner(work_dir, poison):
    torch.manual_seed(0)
    return Runner(
        model=_PoisonedRegressor(poison),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_points(),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=5),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        # As configs/_base_/default_runtime.py enables it.
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            nan_guard=dict(type='NanGuardHook')),
        visualizer=dict(type='Visualizer', vis_backends=[]),
        default_scope='mmsoco')


def test_nan_at_iteration_3_stops_the_run_and_keeps_iteration_2(tmp_path):
    runner = _runner(tmp_path, poison=3)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith('Non-finite loss at iteration 3: '), message
    assert 'loss_mse=nan' in message and 'loss=nan' in message, message
    assert 'loss_l1' not in message, message  # finite terms are not named
    assert 'grad_free_readout' not in message  # read-outs are not checked
    assert 'iter_2.pth' in message, message  # where to resume from
    # The poison really reached the weights ...
    assert not torch.isfinite(runner.model.fc.weight).all()
    # ... but the bad state was never checkpointed ...
    saved = sorted(p.name for p in tmp_path.glob('iter_*.pth'))
    assert saved == ['iter_1.pth', 'iter_2.pth'], saved
    # ... and the last good one is intact: loads weights-only, finite.
    ckpt = load_checkpoint_weights_only(str(tmp_path / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())


def test_guard_runs_before_the_checkpoint_and_momentum_hooks(tmp_path):
    runner = _runner(tmp_path, poison=0)
    runner.register_custom_hooks([dict(type='MomentumUpdateHook')])
    names = [type(h).__name__ for h in runner.hooks]
    assert names.index('NanGuardHook') < names.index('MomentumUpdateHook')
    assert names.index('NanGuardHook') < names.index('CheckpointHook')
    assert names.index('NanGuardHook') < names.index('LoggerHook')


def test_healthy_run_is_untouched(tmp_path):
    _runner(tmp_path, poison=0).train()
    assert (tmp_path / 'iter_5.pth').is_file()


def test_inf_and_tensor_terms_are_found():
    bad = non_finite_loss_terms(
        dict(
            loss=torch.tensor(float('inf')),
            loss_a=torch.tensor(1.0),
            loss_b=[float('nan')][0],
            proj_std=torch.tensor(float('nan'))))
    assert set(bad) == {'loss', 'loss_b'}
    assert math.isinf(bad['loss'])


def test_every_mmsoco_config_gets_the_guard_and_keeps_its_custom_hooks():
    cfg = Config.fromfile(REPO_CONFIG)
    assert cfg.default_hooks.nan_guard == dict(type='NanGuardHook')
    assert {'type': 'MomentumUpdateHook'} in cfg.custom_hooks
    assert NanGuardHook.priority == 'ABOVE_NORMAL'

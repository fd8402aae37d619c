"""Kill-and-resume: N iterations in one go == N/2, kill, resume, N/2.

Runs the demo config (tiny views, batch 2, R18) through mmengine's Runner with
deterministic settings and checks that the losses, the EMA momentum schedule
and every tensor of the final state dict (online and target) are identical.
This is also the suite's smoke test that the demo config trains on CPU.
"""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmsoco  # noqa: F401  (weights-only checkpoint allow-list)
from mmsoco.registry import HOOKS

N = 4
BASE_MOMENTUM = 0.5  # far from 1 so a restarted schedule would show


class _Killed(Exception):
    pass


RECORDS = {}


@HOOKS.register_module(force=True)
class ResumeTestRecorder(Hook):
    """Records loss and momentum per iteration; optionally 'kills' the run."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, key, kill_after=None):
        self.key = key
        self.kill_after = kill_after

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        RECORDS.setdefault(self.key, []).append(
            (runner.iter + 1, float(outputs['loss'].detach()),
             runner.message_hub.get_scalar('train/momentum').current()))
        if self.kill_after == runner.iter + 1:
            raise _Killed


def _cfg(work_dir, data_root, cache_dir, key, kill_after=None):
    cfg = Config.fromfile('configs/soco/soco_r18fpn_demo.py')
    cfg.work_dir = str(work_dir)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[1]['cache_dir'] = str(cache_dir)
    for view, size in zip(pipeline[2]['views'], (64, 64, 32)):
        view['size'] = size
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.model.base_momentum = BASE_MOMENTUM
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=N)
    cfg.param_scheduler = [
        dict(
            type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=N)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=N // 2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False, window_size=1)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.custom_hooks = cfg.custom_hooks + [
        dict(type='ResumeTestRecorder', key=key, kill_after=kill_after)
    ]
    cfg.visualizer.vis_backends = []
    return cfg


def test_kill_and_resume_matches_one_go(tmp_path, demo_data_root):
    cache = tmp_path / 'proposal_cache'
    one_go = Runner.from_cfg(_cfg(tmp_path / 'a', demo_data_root, cache, 'a'))
    one_go.train()
    state_a = one_go.model.state_dict()

    killed = Runner.from_cfg(
        _cfg(tmp_path / 'b', demo_data_root, cache, 'b1', kill_after=N // 2))
    with pytest.raises(_Killed):
        killed.train()
    assert (tmp_path / 'b' / f'iter_{N // 2}.pth').is_file()

    cfg = _cfg(tmp_path / 'b', demo_data_root, cache, 'b2')
    cfg.resume = True  # the latest checkpoint of work_dir b, mmengine's path
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    state_b = resumed.model.state_dict()

    assert [r[0] for r in RECORDS['b2']] == list(range(N // 2 + 1, N + 1))
    assert RECORDS['b1'] + RECORDS['b2'] == RECORDS['a']
    # tau_k = 1 - (1 - base) (cos(pi k / K) + 1) / 2, continued after resume.
    for k, _, momentum in RECORDS['a']:
        tau = 1 - (1 - BASE_MOMENTUM) * (math.cos(math.pi * k / N) + 1) / 2
        assert momentum == pytest.approx(tau, abs=1e-12)
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name
    # The run really trained: the loss moved and the target followed online.
    assert RECORDS['a'][0][1] != RECORDS['a'][-1][1]
    assert not torch.equal(state_a['target.backbone.conv1.weight'],
                           one_go.model.backbone.conv1.weight)

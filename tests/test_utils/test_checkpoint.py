"""Weights-only checkpoint loading: mmengine checkpoints load and resume,
anything that smuggles code in is refused before it runs."""
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch.utils.data import Dataset

import mmsoco  # noqa: F401  installs the allow-list
from mmsoco.utils import UnsafeCheckpointError, load_checkpoint_weights_only


class _Points(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(
            inputs=torch.randn(4, generator=g),
            target=torch.randn(1, generator=g))


class _Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, inputs, target, mode='loss'):
        pred = self.bn(self.fc(torch.stack(inputs)))
        return dict(loss=((pred - torch.stack(target))**2).mean())


class _Killed(Exception):
    pass


class _KillAfter(Hook):
    """Simulates the job being killed right after iteration ``n`` (its
    checkpoint already written), without changing the schedule's length."""
    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, n):
        self.n = n

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.n:
            raise _Killed


def _runner(work_dir, max_iters=4, resume=False, kill_after=None):
    torch.manual_seed(0)  # the model is built before the Runner seeds
    return Runner(
        model=_Regressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Points(),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='CosineAnnealingLR', T_max=max_iters, by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        custom_hooks=[_KillAfter(kill_after)] if kill_after else None,
        randomness=dict(seed=3, deterministic=True),
        resume=resume,
        default_scope='mmsoco')


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    _runner(tmp_path, max_iters=2).train()
    ckpt = tmp_path / 'iter_2.pth'
    # The message hub (HistoryBuffer + numpy) is what torch >= 2.6 refuses
    # without the allow-list.
    loaded = torch.load(ckpt, weights_only=True)
    assert {'state_dict', 'optimizer', 'message_hub', 'meta'} <= set(loaded)
    assert _load_checkpoint(str(ckpt))['meta']['iter'] == 2


def test_killed_run_resumes_to_the_same_result(tmp_path):
    straight = _runner(tmp_path / 'straight')
    straight.train()
    with pytest.raises(_Killed):
        _runner(tmp_path / 'resumed', kill_after=2).train()
    resumed = _runner(tmp_path / 'resumed', resume=True)
    resumed.train()
    assert resumed.iter == straight.iter == 4
    for (name, a), (_, b) in zip(straight.model.state_dict().items(),
                                 resumed.model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


class _RunsCode:
    """Unpickling this calls os.mkdir(<marker>): a stand-in for any payload."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker, ))


def test_checkpoint_with_callable_is_refused_and_never_runs(tmp_path):
    marker = str(tmp_path / 'payload_ran')
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _RunsCode(marker)}, evil)

    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_weights_only(str(evil))
    assert str(evil) in str(err.value)
    assert 'mkdir' in str(err.value)
    # mmengine's own entry point (load_from / resume) goes the same way.
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(str(evil))
    assert not os.path.exists(marker)


def test_getattr_allowlist_is_restricted_to_history_buffer(tmp_path):
    """`builtins.getattr` is allow-listed only as a HistoryBuffer method lookup;
    a pickle reaching e.g. ndarray.tofile (a file write) through it is
    refused, although ndarray itself is allow-listed."""

    class _GetattrPayload:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = tmp_path / 'getattr.pth'
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_weights_only(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_weights_only(str(missing))


def test_plain_pickle_file_is_refused(tmp_path):
    path = tmp_path / 'legacy.pkl'
    with open(path, 'wb') as f:
        pickle.dump(_RunsCode(str(tmp_path / 'ran')), f)
    with pytest.raises(UnsafeCheckpointError, match='legacy.pkl'):
        load_checkpoint_weights_only(str(path))
    assert not (tmp_path / 'ran').exists()

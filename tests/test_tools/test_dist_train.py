"""tools/dist_train.sh: 2 processes on the CPU (gloo), a couple of iterations.

One run (it is the slowest test of the suite) from the shell a new user has
after `make install`: .venv not activated, PYTHON unset, no Python with torch
on PATH, and a recipe with SyncBN, which DDP refuses on CPU.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'soco_r18fpn_tiny.py')
SYNC_BN = [
    f'model.{part}.norm_cfg.type=SyncBN'
    for part in ('backbone', 'neck', 'bbox_head')
]
# ResNet-18: stem 1 + 8 basic blocks x 2 + 3 downsample = 20; FPN: 4 lateral +
# 4 output convs = 8; 4conv1fc trunk: 4 convs = 4; twice (online and its EMA
# target). The projector's BN1d is plain BN in this config.
NUM_SYNC_BN = 2 * (20 + 8 + 4)


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _bare_checkout(tmp_path):
    """A checkout whose .venv/bin/python is the one running the tests.

    ``tools`` and ``mmsoco`` link to this repository, so the scripts find the
    checkout's .venv through the path they were called by.
    """
    checkout = tmp_path / 'checkout'
    (checkout / '.venv' / 'bin').mkdir(parents=True)
    for name in ('tools', 'mmsoco'):
        (checkout / name).symlink_to(osp.join(REPO, name))
    venv_python = checkout / '.venv' / 'bin' / 'python'
    venv_python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    venv_python.chmod(0o755)
    return checkout


def _bare_path(tmp_path):
    """PATH without a usable Python: a `python` that fails, then the system's."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    wrong = bin_dir / 'python'
    wrong.write_text('#!/bin/sh\necho "python from PATH ran" >&2\nexit 97\n')
    wrong.chmod(0o755)
    return f'{bin_dir}:/usr/bin:/bin'


@pytest.mark.timeout(600)
def test_dist_train_two_cpu_processes(tmp_path, demo_data_root):
    checkout = _bare_checkout(tmp_path)
    work_dir = tmp_path / 'work'
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('PYTHON', 'VIRTUAL_ENV', 'PYTHONHOME')
    }
    env.update(
        PATH=_bare_path(tmp_path),
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='')
    cmd = [
        'bash',
        str(checkout / 'tools' / 'dist_train.sh'), CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root}',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache',
        *SYNC_BN
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=580)
    log = proc.stdout + proc.stderr
    # The checkout's .venv/bin/python ran, not PATH's python ...
    assert 'python from PATH ran' not in log
    assert proc.returncode == 0, log[-4000:]
    # ... both ranks reached the end of training ...
    assert '[rank 0/2] training finished' in log, log[-4000:]
    assert '[rank 1/2] training finished' in log, log[-4000:]
    # ... each after reverting every SyncBN layer, saying so once ...
    warning = f'reverted {NUM_SYNC_BN} SyncBatchNorm layers to BatchNorm'
    assert log.count(warning) == 2, log[-4000:]
    # ... and exactly one checkpoint was written (by rank 0).
    ckpts = sorted(p.name for p in work_dir.glob('*.pth'))
    assert ckpts == ['iter_2.pth'], ckpts

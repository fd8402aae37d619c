"""tools/dist_train.sh: 2 processes on the CPU (gloo), a couple of iterations."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'soco_r18fpn_tiny.py')


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
def test_dist_train_two_cpu_processes(tmp_path, demo_data_root):
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1')
    cmd = [
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root}',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache'
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=580)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    # Both ranks reached the end of training ...
    assert '[rank 0/2] training finished' in log, log[-4000:]
    assert '[rank 1/2] training finished' in log, log[-4000:]
    # ... and exactly one checkpoint was written (by rank 0).
    ckpts = sorted(p.name for p in work_dir.glob('*.pth'))
    assert ckpts == ['iter_2.pth'], ckpts

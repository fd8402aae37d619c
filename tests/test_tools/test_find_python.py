"""tools/_find_python.sh: $PYTHON, else the checkout's .venv, else python.

Sourced by dist_train.sh, dist_test.sh, slurm_train.sh and the fine-tune
scripts; the end-to-end run from a shell without the venv is in
test_dist_train.py.
"""
import os
import os.path as osp
import shutil
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPTS = ('tools/dist_train.sh', 'tools/dist_test.sh', 'tools/slurm_train.sh',
           'tools/benchmarks/mmdet/dist_finetune.sh',
           'tools/benchmarks/mmdet/slurm_finetune.sh')


def _checkout(tmp_path, venv_python_mode=None):
    """A checkout with the snippet, with or without .venv/bin/python."""
    checkout = tmp_path / 'checkout'
    (checkout / 'tools').mkdir(parents=True)
    shutil.copy(osp.join(REPO, 'tools', '_find_python.sh'), checkout / 'tools')
    if venv_python_mode is not None:
        (checkout / '.venv' / 'bin').mkdir(parents=True)
        venv_python = checkout / '.venv' / 'bin' / 'python'
        venv_python.write_text('#!/bin/sh\n')
        venv_python.chmod(venv_python_mode)
    return checkout


def _chosen(checkout, python=None):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    if python is not None:
        env['PYTHON'] = python
    out = subprocess.run([
        'bash', '-c', 'set -u; source "$1"; printf %s "$PYTHON"', '_',
        str(checkout / 'tools' / '_find_python.sh')
    ],
                         capture_output=True,
                         text=True,
                         env=env,
                         cwd='/',
                         check=True)
    return out.stdout


def test_checkout_venv_when_python_unset(tmp_path):
    checkout = _checkout(tmp_path, 0o755)
    assert _chosen(checkout) == str(checkout / '.venv' / 'bin' / 'python')
    assert _chosen(
        checkout, python='') == str(checkout / '.venv' / 'bin' / 'python')


def test_python_env_wins(tmp_path):
    checkout = _checkout(tmp_path, 0o755)
    assert _chosen(checkout, python='/opt/py/bin/python3') == \
        '/opt/py/bin/python3'


@pytest.mark.parametrize('mode', [None, 0o644])
def test_plain_python_without_a_runnable_venv(tmp_path, mode):
    assert _chosen(_checkout(tmp_path, mode)) == 'python'


@pytest.mark.parametrize('script', SCRIPTS)
def test_every_launch_script_sources_it(script):
    with open(osp.join(REPO, script)) as f:
        text = f.read()
    assert '_find_python.sh"' in text and 'source ' in text, script
    assert 'PYTHON=${PYTHON:-python}' not in text, script

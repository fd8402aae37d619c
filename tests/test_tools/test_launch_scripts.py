"""The launch scripts' own checks: usage, a bad config or GPUS in one line
before torchrun, and fine-tune work dirs that differ per pretraining run.

Python is a stub that logs its arguments (PYTHON=...), so no test here
starts a process group or converts a real checkpoint; the real runs are in
test_dist_train.py and test_model_converters.py (plumbing).
"""
import os
import os.path as osp
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
FINETUNE = osp.join(TOOLS, 'benchmarks', 'mmdet')
DEMO_FT = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                   'mask-rcnn_r18-fpn_demo.py')


@pytest.fixture
def stub_python(tmp_path):
    """A `python` that logs each call; the converter stub writes its output,
    the train stub a last checkpoint in its --work-dir."""
    log = tmp_path / 'calls.log'
    stub = tmp_path / 'stub_python'
    stub.write_text(
        '#!/usr/bin/env bash\n'
        f'echo "$*" >> {log}\n'
        'if [[ "$1" == *soco2mmdet.py ]]; then mkdir -p "$(dirname "$3")"; '
        'echo weights > "$3"; exit 0; fi\n'
        'for a in "$@"; do if [ "$prev" = "--work-dir" ]; then '
        'echo "$a/iter_1.pth" > "$a/last_checkpoint"; '
        'touch "$a/iter_1.pth"; fi; prev=$a; done\n')
    stub.chmod(0o755)
    return stub, log


def _run(script, *args, python, cwd, **env):
    return subprocess.run(['bash', script, *map(str, args)],
                          capture_output=True,
                          text=True,
                          cwd=cwd,
                          env=dict(os.environ, PYTHON=str(python), **env),
                          timeout=60)


@pytest.mark.parametrize('script,usage', [
    ('dist_train.sh', 'Usage: tools/dist_train.sh CONFIG GPUS'),
    ('dist_test.sh', 'Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS'),
    ('slurm_train.sh', 'tools/slurm_train.sh PARTITION JOB_NAME CONFIG '
     'WORK_DIR'),
    ('benchmarks/mmdet/dist_finetune.sh',
     'Usage: tools/benchmarks/mmdet/dist_finetune.sh CONFIG PRETRAIN GPUS'),
    ('benchmarks/mmdet/slurm_finetune.sh', 'PARTITION JOB_NAME CONFIG '
     'PRETRAIN'),
])
def test_usage_without_arguments(script, usage, stub_python, tmp_path):
    stub, log = stub_python
    proc = _run(osp.join(TOOLS, script), python=stub, cwd=tmp_path)
    assert proc.returncode == 2
    assert usage in proc.stderr, proc.stderr
    assert 'unbound variable' not in proc.stderr
    assert not log.exists()  # nothing was started


@pytest.mark.parametrize('script,args,message', [
    ('dist_train.sh', ['configs/soco/nope.py', 2],
     'dist_train.sh: config file configs/soco/nope.py does not exist'),
    ('dist_train.sh', [DEMO_FT, 'two'],
     "dist_train.sh: GPUS (the 2nd argument) must be a number of processes, "
     "got 'two'"),
    ('slurm_train.sh', ['gpu', 'job', 'configs/nope.py', 'work'],
     'slurm_train.sh: config file configs/nope.py does not exist'),
    ('dist_test.sh', ['configs/nope.py', 'x.pth', 2],
     'dist_test.sh: config file configs/nope.py does not exist'),
    ('dist_test.sh', [DEMO_FT, 'missing.pth', 2],
     'dist_test.sh: checkpoint missing.pth does not exist'),
    ('benchmarks/mmdet/dist_finetune.sh', ['configs/nope.py', 'none', 2],
     'finetune: config file configs/nope.py does not exist'),
    ('benchmarks/mmdet/dist_finetune.sh', [DEMO_FT, 'soco/epoch_9.pth', 2],
     'finetune: pretrained checkpoint soco/epoch_9.pth does not exist '
     '(PRETRAIN=none fine-tunes the scratch / supervised twins)'),
])
def test_bad_arguments_one_line_before_torchrun(script, args, message,
                                                stub_python, tmp_path):
    stub, log = stub_python
    proc = _run(osp.join(TOOLS, script), *args, python=stub, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == message
    assert not log.exists()


def _pretrain(tmp_path, run):
    ckpt = tmp_path / 'work_dirs' / run / 'epoch_400.pth'
    ckpt.parent.mkdir(parents=True)
    ckpt.write_text('soco')
    return ckpt


def test_finetunes_of_two_pretrainings_do_not_collide(stub_python, tmp_path):
    """Same checkpoint file name, two pretraining runs: two work dirs, each
    with its own converted weights apart from the fine-tune checkpoints."""
    stub, log = stub_python
    work_dirs = {}
    for run in ('soco_r50fpn_400e', 'soco-star_r50fpn_400e'):
        ckpt = _pretrain(tmp_path, run)
        proc = _run(
            osp.join(FINETUNE, 'dist_finetune.sh'),
            DEMO_FT,
            f'work_dirs/{run}/epoch_400.pth',
            1,
            python=stub,
            cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        work_dir = (
            tmp_path / 'work_dirs' / 'mask-rcnn_r18-fpn_demo' /
            f'{run}_epoch_400')
        converted = work_dir / 'converted' / 'mmdet.pth'
        assert converted.is_file()
        assert (work_dir / 'pretrain.txt').read_text().strip() == str(ckpt)
        convert, train, test = log.read_text().splitlines()[-3:]
        assert convert.split()[1:3] == [
            f'work_dirs/{run}/epoch_400.pth',
            f'work_dirs/mask-rcnn_r18-fpn_demo/{run}_epoch_400/converted/'
            'mmdet.pth'
        ]
        assert f'load_from={converted.relative_to(tmp_path)}' in train
        assert f'{run}_epoch_400/iter_1.pth' in test
        work_dirs[run] = work_dir
    assert len(set(work_dirs.values())) == 2
    # The fine-tune's own checkpoints and the converted weights are apart.
    for work_dir in work_dirs.values():
        assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_1.pth']


def test_work_dir_of_another_pretraining_is_refused(stub_python, tmp_path):
    stub, log = stub_python
    _pretrain(tmp_path, 'a')
    other = _pretrain(tmp_path, 'b')
    shared = tmp_path / 'shared'
    first = _run(
        osp.join(FINETUNE, 'dist_finetune.sh'),
        DEMO_FT,
        'work_dirs/a/epoch_400.pth',
        1,
        python=stub,
        cwd=tmp_path,
        WORK_DIR=str(shared))
    assert first.returncode == 0, first.stderr
    # The same pretraining again (a resumed fine-tune) is fine ...
    again = _run(
        osp.join(FINETUNE, 'dist_finetune.sh'),
        DEMO_FT,
        'work_dirs/a/epoch_400.pth',
        1,
        python=stub,
        cwd=tmp_path,
        WORK_DIR=str(shared))
    assert again.returncode == 0, again.stderr
    calls = log.read_text()
    # ... another is refused before anything runs.
    proc = _run(
        osp.join(FINETUNE, 'dist_finetune.sh'),
        DEMO_FT,
        'work_dirs/b/epoch_400.pth',
        1,
        python=stub,
        cwd=tmp_path,
        WORK_DIR=str(shared))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f'finetune: {shared} holds a fine-tune of '
        f'{tmp_path}/work_dirs/a/epoch_400.pth, not of {other}; set WORK_DIR '
        'to another folder')
    assert log.read_text() == calls

"""tools/model_converters/{soco2mmdet,soco2detectron2,extract_backbone}.py and
tools/benchmarks/mmdet/dist_finetune.sh (argument plumbing)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmsoco.converters import load_detectron2_pickle
from soco_checkpoint import save_mmengine_checkpoint, soco_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R18_FPN = osp.join(REPO, 'configs', '_base_', 'models', 'r18_fpn_4conv1fc.py')
DEMO_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                       'mask-rcnn_r18-fpn_demo.py')


def _tool(name):
    path = osp.join(REPO, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def soco_sd():
    return soco_state_dict('fpn', seed=1)


@pytest.fixture(scope='module')
def soco_ckpt(soco_sd, tmp_path_factory):
    return save_mmengine_checkpoint(
        soco_sd,
        tmp_path_factory.mktemp('soco') / 'epoch_1.pth')


def _no_temp_files(folder):
    return not [p for p in os.listdir(folder) if p.endswith('.tmp')]


def test_soco2mmdet(soco_sd, soco_ckpt, tmp_path, capsys):
    out = str(tmp_path / 'mmdet.pth')
    _tool('soco2mmdet').main([soco_ckpt, out, '--arch-config', R18_FPN])
    report = capsys.readouterr().out
    n_backbone = sum(k.startswith('backbone.') for k in soco_sd)
    assert f'backbone: {n_backbone}' in report
    assert 'projector: ' in report and 'target: ' in report
    assert 'all present with matching shapes' in report
    # plain tensors and strings only: loads without any allow-list
    ckpt = torch.load(out, weights_only=True)
    sd = ckpt['state_dict']
    assert ckpt['meta']['net'] == 'online'
    assert torch.equal(sd['roi_head.bbox_head.shared_fcs.0.weight'],
                       soco_sd['bbox_head.shared_fcs.0.weight'])
    assert not any(
        k.startswith(('projector', 'predictor', 'target')) for k in sd)
    assert _no_temp_files(tmp_path)


def test_soco2mmdet_against_detector_config(soco_sd, soco_ckpt, tmp_path,
                                            capsys):
    out = str(tmp_path / 'mmdet.pth')
    _tool('soco2mmdet').main(
        [soco_ckpt, out, '--net', 'target', '--config', DEMO_CONFIG])
    assert DEMO_CONFIG in capsys.readouterr().out
    sd = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(sd['neck.fpn_convs.1.conv.weight'],
                       soco_sd['target.neck.fpn_convs.1.conv.weight'])


def test_soco2mmdet_wrong_architecture_fails(soco_ckpt, tmp_path):
    out = tmp_path / 'mmdet.pth'
    # default destination is the R50 architecture: shapes differ
    with pytest.raises(SystemExit) as err:
        _tool('soco2mmdet').main([soco_ckpt, str(out)])
    assert 'shapes differ' in str(err.value.code)
    assert 'backbone.' in str(err.value.code)
    assert not out.exists() and _no_temp_files(tmp_path)


def test_soco2mmdet_bad_inputs(tmp_path):
    tool = _tool('soco2mmdet')
    out = str(tmp_path / 'out.pth')
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(SystemExit) as err:
        tool.main([missing, out])
    assert missing in str(err.value.code)

    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(SystemExit) as err:
        tool.main([str(text), out])
    assert str(text) in str(err.value.code)
    assert 'not a readable torch checkpoint' in str(err.value.code)

    no_sd = tmp_path / 'no_sd.pth'
    torch.save({'meta': {}, 'model': {}}, str(no_sd))
    with pytest.raises(SystemExit) as err:
        tool.main([str(no_sd), out])
    assert str(no_sd) in str(err.value.code)
    assert '"state_dict"' in str(err.value.code)

    byol = save_mmengine_checkpoint(
        soco_state_dict('byol'), tmp_path / 'byol.pth')
    with pytest.raises(SystemExit) as err:
        tool.main([byol, out, '--arch', 'fpn'])
    assert '"neck.*"' in str(err.value.code)
    assert not osp.exists(out)


def test_soco2mmdet_command_line_exit_code(tmp_path):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'model_converters', 'soco2mmdet.py'),
        str(tmp_path / 'missing.pth'),
        str(tmp_path / 'out.pth')
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          timeout=120)
    assert proc.returncode != 0
    assert 'missing.pth' in proc.stderr


def test_soco2detectron2(soco_sd, soco_ckpt, tmp_path, capsys):
    out = str(tmp_path / 'd2.pkl')
    _tool('soco2detectron2').main([soco_ckpt, out, '--arch-config', R18_FPN])
    assert 'detectron2 names: ' in capsys.readouterr().out
    ckpt = load_detectron2_pickle(out)
    assert ckpt['__author__'] == 'mmsoco'
    assert ckpt['matching_heuristics'] is False
    model = ckpt['model']
    np.testing.assert_array_equal(
        model['roi_heads.box_head.conv4.norm.running_mean'],
        soco_sd['bbox_head.shared_convs.3.bn.running_mean'].numpy())
    np.testing.assert_array_equal(
        model['backbone.fpn_lateral3.weight'],
        soco_sd['neck.lateral_convs.1.conv.weight'].numpy())
    np.testing.assert_array_equal(
        model['backbone.bottom_up.res5.1.conv2.weight'],
        soco_sd['backbone.layer4.1.conv2.weight'].numpy())
    assert all(
        k.startswith(('backbone.bottom_up.', 'backbone.fpn_',
                      'roi_heads.box_head.')) for k in model)
    with pytest.raises(SystemExit):
        _tool('soco2detectron2').parse_args([soco_ckpt, 'out.pth'])


def test_extract_backbone(soco_sd, soco_ckpt, tmp_path):
    tool = _tool('extract_backbone')
    tv = str(tmp_path / 'tv.pth')
    tool.main([soco_ckpt, tv, '--torchvision'])
    sd = torch.load(tv, weights_only=True)
    assert 'state_dict' not in sd  # bare, as torchvision loads it
    assert torch.equal(sd['layer2.0.downsample.0.weight'],
                       soco_sd['backbone.layer2.0.downsample.0.weight'])
    mm = str(tmp_path / 'mm.pth')
    tool.main([soco_ckpt, mm, '--net', 'target'])
    sd = torch.load(mm, weights_only=True)['state_dict']
    assert torch.equal(sd['conv1.weight'],
                       soco_sd['target.backbone.conv1.weight'])
    # what mmdet's Pretrained init of a backbone does with it
    from mmdet.models.backbones import ResNet
    from mmengine.runner import load_checkpoint
    resnet = ResNet(depth=18)
    load_checkpoint(resnet, mm, strict=True)
    assert torch.equal(resnet.layer3[1].conv1.weight,
                       soco_sd['target.backbone.layer3.1.conv1.weight'])


def test_dist_finetune_plumbing(soco_ckpt, tmp_path):
    """The script converts, then passes load_from inside the user's
    --cfg-options group to training and that group (only) to testing."""
    log = tmp_path / 'calls.log'
    stub = tmp_path / 'python'
    stub.write_text(
        '#!/usr/bin/env bash\n'
        f'if [[ "$1" == *soco2mmdet.py ]]; then exec {sys.executable} "$@"; '
        'fi\n'
        f'echo "$*" >> {log}\n'
        'for a in "$@"; do if [ "$prev" = "--work-dir" ]; then '
        'echo "$a/epoch_1.pth" > "$a/last_checkpoint"; '
        'touch "$a/epoch_1.pth"; fi; prev=$a; done\n')
    stub.chmod(0o755)
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHON=str(stub), WORK_DIR=str(work_dir))
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'benchmarks', 'mmdet',
                 'dist_finetune.sh'), DEMO_CONFIG, soco_ckpt, '2',
        '--cfg-options', 'data_root=/data/demo/', '--amp'
    ],
                          capture_output=True,
                          text=True,
                          env=env,
                          cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    train, test = log.read_text().splitlines()
    converted = work_dir / 'converted' / 'mmdet.pth'
    assert converted.is_file()
    assert 'train.py' in train and '--amp' in train
    assert (f'--cfg-options data_root=/data/demo/ load_from={converted}'
            in train)
    assert 'test.py' in test and str(work_dir / 'epoch_1.pth') in test
    assert '--cfg-options data_root=/data/demo/' in test
    assert 'load_from' not in test and '--amp' not in test


def test_slurm_finetune_plumbing(soco_ckpt, tmp_path):
    """slurm twin: convert here, then srun train and srun test."""
    log = tmp_path / 'srun.log'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(
        '#!/usr/bin/env bash\n'
        f'echo "$*" >> {log}\n'
        'for a in "$@"; do case "$a" in --work-dir=*) d="${a#--work-dir=}";'
        ' echo "$d/iter_9.pth" > "$d/last_checkpoint";; esac; done\n')
    srun.chmod(0o755)
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        WORK_DIR=str(work_dir),
        GPUS='4',
        GPUS_PER_NODE='4',
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'benchmarks', 'mmdet', 'slurm_finetune.sh'),
        'gpu', 'ft', DEMO_CONFIG, soco_ckpt, '--cfg-options', 'data_root=/d/'
    ],
                          capture_output=True,
                          text=True,
                          env=env,
                          cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    train, test = log.read_text().splitlines()
    converted = work_dir / 'converted' / 'mmdet.pth'
    assert converted.is_file()
    assert '--ntasks=4' in train and '--launcher=slurm' in train
    assert f'--cfg-options data_root=/d/ load_from={converted}' in train
    assert str(work_dir / 'iter_9.pth') in test and '--launcher=slurm' in test
    assert '--cfg-options data_root=/d/' in test and 'load_from' not in test


def test_converter_output_has_no_pkg_resources_notice(soco_ckpt, tmp_path):
    """Checking against a detector config reads its ``mmdet::`` bases, which
    made setuptools print its pkg_resources notice 4 times; off a terminal
    the stages are logged (every MMSOCO_PROGRESS_INTERVAL s, 0 here)."""
    out = str(tmp_path / 'mmdet.pth')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'model_converters', 'soco2mmdet.py'),
        soco_ckpt, out, '--config', DEMO_CONFIG
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          env=dict(os.environ, MMSOCO_PROGRESS_INTERVAL='0'),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'all present with matching shapes' in proc.stdout
    assert 'pkg_resources' not in proc.stderr, proc.stderr[-2000:]
    assert f'converting {soco_ckpt}: 4/4 stage (100.0%)' in proc.stderr

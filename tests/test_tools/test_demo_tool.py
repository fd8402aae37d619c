"""tools/demo.py: the "next" commands it prints run as printed, whatever
--data-root, and the fine-tune config's header shows the same commands."""
import importlib.util
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from mmengine.config import Config
from test_docs.command_checks import check_command, load_tool
from test_docs.readme_commands import Command

from soco_checkpoint import save_mmengine_checkpoint, soco_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FINETUNE_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                           'mask-rcnn_r18-fpn_demo.py')


def _demo():
    path = osp.join(REPO, 'tools', 'demo.py')
    spec = importlib.util.spec_from_file_location('tool_demo', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_next_commands_run_as_printed_with_another_data_root(
        tmp_path, demo_data_root, monkeypatch):
    """The demo data outside the repository, the demo run from elsewhere:
    the printed conversion runs as printed (a subprocess), and the printed
    fine-tune gets as far as a test can take it without training: flags,
    config with its overrides, datasets with one sample each, evaluators and
    the model, all on the data the demo used. ~15 s: the conversion runs in
    a fresh interpreter, as the user runs it."""
    demo = _demo()
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    ckpt = save_mmengine_checkpoint(
        soco_state_dict('fpn', seed=1), work_dir / 'epoch_2.pth')
    convert, finetune = demo.format_commands(
        demo.next_commands(str(ckpt), str(work_dir), str(demo_data_root)),
        cwd=str(tmp_path))

    proc = subprocess.run(['bash', '-c', convert],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    converted = work_dir / 'mmdet.pth'
    assert converted.is_file()

    cd, repo, and_, *argv = shlex.split(finetune)
    assert (cd, repo, and_) == ('cd', REPO, '&&')
    assert osp.samefile(osp.join(REPO, argv[0]), sys.executable)
    assert argv[1:3] == [
        'tools/train.py', 'configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py'
    ]
    assert f'load_from={converted}' in argv
    # Everything the fine-tune reads is in the demo's data root ...
    train_args = load_tool('tools/train.py').parse_args(argv[2:])
    cfg = Config.fromfile(FINETUNE_CONFIG)
    cfg.merge_from_dict(train_args.cfg_options)
    root = f'{demo_data_root}/'
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == root
    for split in ('val', 'test'):
        assert cfg[f'{split}_evaluator'].ann_file.startswith(root)
    # ... and is built from there.
    monkeypatch.chdir(REPO)
    check_command(Command('demo', finetune, {}, ['python', *argv[1:]]))


def _header_commands():
    """The commands in the fine-tune config's header comment."""
    lines = []
    for line in open(FINETUNE_CONFIG):
        if not line.startswith('#'):
            break
        if re.match(r'#   ', line):
            lines.append(line[1:].strip())
    text = ' '.join(lines).replace('\\ ', ' ')
    return [shlex.split(c) for c in re.split(r' (?=\.venv/bin/python )', text)]


def test_finetune_config_header_shows_the_printed_commands():
    """Default paths: what `make demo` prints is what the header shows."""
    demo = _demo()
    work_dir = osp.join(REPO, 'work_dirs', 'soco_r18fpn_demo')
    printed = demo.next_commands(
        osp.join(work_dir, 'epoch_N.pth'), work_dir,
        osp.join(REPO, 'data', 'demo'))
    for command in printed:
        command[0] = '.venv/bin/python'
    assert _header_commands() == printed


def test_losses_are_the_last_runs_logged_training_losses(tmp_path):
    """What the demo's closing "loss: A -> B" line averages: the train
    records' ``loss`` of the newest run folder (mmengine's layout), not a
    val record's metrics or an older run's."""
    import json
    for run, losses in (('20260101_000000', [9.0]), ('20260102_000000',
                                                     [4.0, 3.5, 3.0])):
        vis = tmp_path / run / 'vis_data'
        vis.mkdir(parents=True)
        rows = [
            dict(loss=v, iter=i + 1, step=i + 1) for i, v in enumerate(losses)
        ]
        rows.append({'coco/bbox_mAP': 0.1, 'step': 3})
        (vis / 'scalars.json').write_text('\n'.join(map(json.dumps, rows)) +
                                          '\n\n')
    assert _demo()._losses(str(tmp_path)) == [4.0, 3.5, 3.0]
    assert _demo()._losses(str(tmp_path / '20260101_000000')) == []


def test_partial_init_cfg_is_one_line(demo_data_root, tmp_path, monkeypatch):
    """``make demo`` with a warm start's checkpoint but no initialiser type:
    one line naming the fix, before the runner is built."""
    demo = _demo()
    import mmsoco.utils.launch as launch

    def refuse(*args, **kwargs):
        raise AssertionError('the runner was built')

    monkeypatch.setattr(launch, 'build_runner', refuse)
    with pytest.raises(SystemExit) as exit_info:
        demo.main([
            '--data-root',
            str(demo_data_root), '--work-dir',
            str(tmp_path), '--cfg-options', 'model.init_cfg.checkpoint=a.pth'
        ])
    message = str(exit_info.value)
    assert 'model.init_cfg has no type' in message
    assert 'model.init_cfg.type=PretrainedBackbone' in message

"""tools/generate_proposals.py end to end: bad images, kill + resume, shards + merge."""
import importlib.util
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'generate_proposals.py')


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bad_images = _load('bad_images',
                   osp.join(REPO, 'tests', 'test_proposals', 'bad_images.py'))
tool = _load('generate_proposals_tool', TOOL)


def _run(*args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *args],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          env=env,
                          timeout=300,
                          **kwargs)


def _store(path):
    from mmsoco.proposals.store import ProposalStore
    store = ProposalStore(path, validate=True)
    return [(k, b.tolist(), s) for k, b, s in store.items()]


def test_every_bad_image_is_listed_and_exit_status_is_0(tmp_path):
    root = str(tmp_path / 'imgs')
    bad_images.write_good_images(root, 2)
    bad_images.write_bad_images(root)
    out = str(tmp_path / 'out')
    proc = _run(root, out, '--max-pixels', '20000', '--workers', '2',
                '--chunk-size', '3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    for key, fragment in bad_images.BAD_KINDS.items():
        if fragment is not None:
            assert f'{key}: ' in proc.stdout and fragment in proc.stdout, key
    assert 'failed: 4' in proc.stdout
    assert 'whole_image 1' in proc.stdout  # the 1x1 image
    # Not a terminal: no progress bar in the captured output.
    assert '100%' not in proc.stderr
    failures = (tmp_path / 'out' / 'failures.tsv').read_text()
    assert sorted(line.split('\t')[0] for line in failures.splitlines()[1:]) \
        == sorted(k for k, v in bad_images.BAD_KINDS.items() if v)
    assert len(_store(osp.join(out, 'store'))) == 2 + 5
    # Configs may name the tool's OUT_DIR as the store path.
    assert _store(out) == _store(osp.join(out, 'store'))


def test_run_that_cannot_finish_exits_1(tmp_path, capsys):
    assert tool.main([str(tmp_path / 'missing'), str(tmp_path / 'out')]) == 1
    assert 'not a directory' in capsys.readouterr().err
    (tmp_path / 'empty').mkdir()
    assert tool.main([str(tmp_path / 'empty'), str(tmp_path / 'out')]) == 1
    assert 'no images found' in capsys.readouterr().err
    assert tool.main(['--merge', str(tmp_path / 'empty')]) == 1
    assert 'no shards' in capsys.readouterr().err


def test_killed_run_resumes_to_the_clean_result(tmp_path):
    root = str(tmp_path / 'imgs')
    bad_images.write_good_images(root, 8, size=(160, 120))
    clean = str(tmp_path / 'clean')
    assert tool.main([root, clean, '--no-progress']) == 0

    out = str(tmp_path / 'out')
    shard = osp.join(out, 'shards', 'shard-00000-of-00001')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen([
        sys.executable, TOOL, root, out, '--chunk-size', '1', '--no-progress'
    ],
                            cwd=REPO,
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and \
            not osp.exists(osp.join(shard, 'chunk-000000.npz')):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len([n for n in os.listdir(shard) if n.endswith('.npz')])
    assert finished >= 1
    # A second run without --resume refuses to touch the finished chunks.
    if finished < 8:
        assert tool.main([root, out, '--chunk-size', '1',
                          '--no-progress']) == 1
    assert tool.main(
        [root, out, '--chunk-size', '1', '--resume', '--no-progress']) == 0
    assert _store(osp.join(out, 'store')) == _store(osp.join(clean, 'store'))


def test_shards_then_merge_equal_single_run(tmp_path):
    root = str(tmp_path / 'imgs')
    bad_images.write_good_images(root, 5)
    bad_images.write_bad_images(root)
    single = str(tmp_path / 'single')
    assert tool.main([root, single, '--max-pixels', '20000',
                      '--no-progress']) == 0
    out = str(tmp_path / 'sharded')
    for i in range(3):
        assert tool.main([
            root, out, '--shard', f'{i}/3', '--max-pixels', '20000',
            '--chunk-size', '2', '--no-progress'
        ]) == 0
    assert not osp.exists(osp.join(out, 'store'))
    assert tool.main(['--merge', out]) == 0
    assert _store(osp.join(out, 'store')) == _store(osp.join(single, 'store'))
    np.testing.assert_array_equal(
        np.load(osp.join(out, 'store', 'boxes.npy')),
        np.load(osp.join(single, 'store', 'boxes.npy')))


@pytest.mark.parametrize(
    'args', [['a', 'b', '--shard', '1'], ['a', 'b', '--shard', '2/2'],
             ['a', 'b', '--shard', 'a/b'], ['a', 'b', '--shard', '-1/2'],
             ['a'], ['--merge', 'a', 'b']])
def test_bad_arguments_exit_2(args, capsys):
    with pytest.raises(SystemExit) as e:
        tool.parse_args(args)
    assert e.value.code == 2


def test_import_and_export_modes(tmp_path, capsys):
    root = tmp_path / 'imgs'
    root.mkdir()
    cv2.imwrite(str(root / 'a.png'), np.zeros((20, 40, 3), np.uint8))
    ref = {'a': [[10, 5, 19, 9]]}  # the authors' files: keyed by stem
    (tmp_path / 'ref.json').write_text(json.dumps(ref))
    out = str(tmp_path / 'out')
    assert tool.main(
        [str(root), out, '--import-reference',
         str(tmp_path / 'ref.json')]) == 0
    assert _store(out) == [('a.png', [[10.0, 5.0, 30.0, 15.0]], (40, 20))]
    assert tool.main([out, '--export-reference',
                      str(tmp_path / 'back.json')]) == 0
    assert json.loads((tmp_path / 'back.json').read_text()) == ref
    ann = dict(images=[dict(id=1, file_name='a.png', width=40, height=20)])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    assert tool.main([
        out, '--export-coco',
        str(tmp_path / 'res.json'), '--ann-file',
        str(tmp_path / 'ann.json')
    ]) == 0
    out2 = str(tmp_path / 'out2')
    assert tool.main([
        out2, '--import-coco',
        str(tmp_path / 'res.json'), '--ann-file',
        str(tmp_path / 'ann.json')
    ]) == 0
    assert _store(out2) == _store(out)
    # A box beyond the image is refused with the image named, exit 1.
    (tmp_path / 'ref.json').write_text(json.dumps({'a': [[0, 0, 40, 1]]}))
    capsys.readouterr()
    assert tool.main([
        str(root),
        str(tmp_path / 'out3'), '--import-reference',
        str(tmp_path / 'ref.json')
    ]) == 1
    assert "'a.png'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.parse_args([out, '--import-coco', 'x.json'])  # no --ann-file


def test_exif_orientation_flag_is_recorded_and_limited(tmp_path, capsys):
    root = tmp_path / 'imgs'
    root.mkdir()
    cv2.imwrite(str(root / 'a.png'), np.zeros((20, 40, 3), np.uint8))
    for flag, expected in (([], False), (['--exif-orientation'], True)):
        out = tmp_path / f'out{len(flag)}'
        assert tool.main([str(root), str(out), '--quiet', *flag]) == 0
        meta = json.loads((out / 'store' / 'meta.json').read_text())
        assert meta['exif_orientation'] is expected
    with pytest.raises(SystemExit) as err:
        tool.parse_args([
            str(root), 'out', '--import-reference', 'r.json',
            '--exif-orientation'
        ])
    assert err.value.code == 2
    assert 'computed without it' in capsys.readouterr().err


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys,
                                                      monkeypatch):
    """slurm / nohup / 2>log: a line every MMSOCO_PROGRESS_INTERVAL seconds
    (0 here: every step) with the count, the rate and the time left, for
    the generation, the merge, the import and the export."""
    monkeypatch.setenv('MMSOCO_PROGRESS_INTERVAL', '0')
    root = str(tmp_path / 'imgs')
    bad_images.write_good_images(root, 3, size=(64, 48))
    out = str(tmp_path / 'out')
    assert tool.main([root, out, '--chunk-size', '2']) == 0
    err = capsys.readouterr().err.splitlines()
    shard = [line for line in err if line.startswith('shard 0/1: ')]
    assert [line.split(',')[0] for line in shard[:3]] == [
        'shard 0/1: 1/3 img (33.3%)', 'shard 0/1: 2/3 img (66.7%)',
        'shard 0/1: 3/3 img (100.0%)'
    ]
    assert ' img/s, ETA ' in shard[0] and 'done in ' in shard[-1]
    assert any(
        line.startswith(f'merging {out}: 2/2 chunk (100.0%)') for line in err)
    assert tool.main([out, '--export-reference',
                      str(tmp_path / 'ref.json')]) == 0
    assert 'exporting ' in capsys.readouterr().err
    assert tool.main([
        str(tmp_path / 'out2'), '--import-reference',
        str(tmp_path / 'ref.json')
    ]) == 0
    assert '3/3 img (100.0%)' in capsys.readouterr().err
    # --quiet: nothing on stderr
    assert tool.main([out, '--merge', '--quiet']) == 0
    assert capsys.readouterr().err == ''


def test_overwrite_starts_again(tmp_path, capsys):
    root = str(tmp_path / 'imgs')
    bad_images.write_good_images(root, 3, size=(64, 48))
    out = str(tmp_path / 'out')
    # an earlier sharded run with other settings, half done
    assert tool.main(
        [root, out, '--shard', '0/2', '--max-side', '32', '--quiet']) == 0
    capsys.readouterr()
    # a single-shard run computes its own shard, but cannot merge the old one
    assert tool.main([root, out, '--quiet']) == 1
    err = capsys.readouterr().err
    assert 'does not belong' in err and 'with --overwrite' in err
    # a second run refuses to touch its finished chunks
    assert tool.main([root, out, '--quiet']) == 1
    assert '--overwrite to start it again' in capsys.readouterr().err
    assert tool.main([root, out, '--overwrite', '--quiet']) == 0
    assert os.listdir(osp.join(out, 'shards')) == ['shard-00000-of-00001']
    clean = str(tmp_path / 'clean')
    assert tool.main([root, clean, '--quiet']) == 0
    assert _store(osp.join(out, 'store')) == _store(osp.join(clean, 'store'))
    # other settings: refused, then discarded with --overwrite
    assert tool.main([root, out, '--max-side', '32', '--quiet']) == 1
    assert 'or --overwrite to discard it' in capsys.readouterr().err
    assert tool.main([root, out, '--max-side', '32', '--overwrite',
                      '--quiet']) == 0
    with open(osp.join(out, 'store', 'meta.json')) as f:
        assert json.load(f)['meta']['params']['max_side'] == 32
    with pytest.raises(SystemExit):
        tool.parse_args([root, out, '--resume', '--overwrite'])
    with pytest.raises(SystemExit):
        tool.parse_args([out, '--merge', '--overwrite'])


def test_help_example_writes_where_the_configs_read():
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets',
                 'soco_fpn_imagenet.py'))
    example = tool.__doc__.split('::', 1)[1].split('\n\n')[1].split()
    assert example[:4] == [
        'python', 'tools/generate_proposals.py', 'data/imagenet/train',
        cfg.train_dataloader.dataset.proposal_store
    ]

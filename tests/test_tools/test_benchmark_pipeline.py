"""tools/analysis_tools/benchmark_pipeline.py: images/s by worker count on
the demo config, and the workers a GPU step needs."""
import importlib.util
import os.path as osp
import re
import time

import pytest
from tool_runs import DETECTOR_CONFIG, PKG_RESOURCES_NOTICE, run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOCO_DEMO = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')


def _tool():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_pipeline.py')
    spec = importlib.util.spec_from_file_location('benchmark_pipeline', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    'per_worker,batch,step_ms,expected',
    [
        (20.0, 16, 200, 4),  # 16 images in 0.2 s = 80 images/s = 4 x 20
        (19.6, 16, 200, 5),  # 80 / 19.6 = 4.08: a fifth worker
        (100.0, 256, 500, 6),  # 512 images/s / 100 = 5.12
    ])
def test_workers_needed(per_worker, batch, step_ms, expected):
    assert _tool().workers_needed(per_worker, batch, step_ms) == expected


def test_rates_by_worker_count(demo_data_root, tmp_path, capsys):
    """0 and 1 workers, 4 images each after one warm-up batch of 2."""
    tool = _tool()
    start = time.perf_counter()
    tool.main([
        SOCO_DEMO, '--num-workers', '0', '1', '--num-images', '4', '--warmup',
        '1', '--gpu-step-ms', '100', '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data_root}',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}',
        'train_dataloader.batch_size=2'
    ])
    wall = time.perf_counter() - start
    out = capsys.readouterr().out.splitlines()
    rows = [
        re.fullmatch(r'\| (\d+) \| ([0-9.]+) \| ([0-9.]+) \|', line)
        for line in out[2:4]
    ]
    assert [int(r.group(1)) for r in rows] == [0, 1]
    for row in rows:
        # The timed part is inside the call: never slower than the call.
        assert float(row.group(2)) >= 4 / wall
        assert float(row.group(3)) == float(row.group(2))  # 0 or 1 worker
    assert out[4].startswith('8 images timed on ')
    per_worker = float(rows[1].group(3))
    need = tool.workers_needed(per_worker, 2, 100)
    assert out[5].startswith(f'A GPU step of 100 ms at batch 2 needs {need} '
                             'workers')


def test_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        _tool().parse_args([SOCO_DEMO, '--num-workers', '-1'])
    assert '--num-workers must be >= 0' in capsys.readouterr().err


def test_detector_config_without_the_pkg_resources_notice(demo_data_root):
    """A fine-tuning config's train pipeline, one image, run as a user runs
    the tool: its ``mmdet::`` bases must not print the notice."""
    proc = run_tool('analysis_tools/benchmark_pipeline.py', DETECTOR_CONFIG,
                    '--num-workers', '0', '--num-images', '1', '--warmup', '0',
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={demo_data_root}',
                    'train_dataloader.batch_size=1')
    assert '1 images timed on ' in proc.stdout
    assert PKG_RESOURCES_NOTICE not in proc.stderr, proc.stderr[-2000:]

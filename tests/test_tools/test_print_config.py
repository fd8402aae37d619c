"""tools/misc/print_config.py: the printed / saved config is the one the
tools build (every base merged, --cfg-options applied)."""
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config
from tool_runs import DETECTOR_CONFIG, PKG_RESOURCES_NOTICE, run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')


def _tool():
    path = osp.join(REPO, 'tools', 'misc', 'print_config.py')
    spec = importlib.util.spec_from_file_location('print_config', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plain(cfg):
    """JSON has no tuples: compare as JSON sees a config."""
    return json.loads(json.dumps(cfg.to_dict()))


@pytest.mark.parametrize('suffix', ['.py', '.json', '.yml'])
def test_saved_config_loads_back_equal(suffix, tmp_path, capsys):
    tool = _tool()
    out = tmp_path / 'sub' / f'whole{suffix}'
    tool.main([
        CONFIG, '--save-path',
        str(out), '--cfg-options', 'train_dataloader.batch_size=3',
        'load_from=mine.pth'
    ])
    expected = Config.fromfile(CONFIG)
    expected.merge_from_dict({
        'train_dataloader.batch_size': 3,
        'load_from': 'mine.pth'
    })
    saved = Config.fromfile(str(out))
    assert _plain(saved) == _plain(expected)
    assert saved.train_dataloader.batch_size == 3
    printed = capsys.readouterr().out
    assert printed.startswith('Config:\n')
    assert "load_from = 'mine.pth'" in printed
    assert printed.rstrip().endswith(f'Config saved at {out}')
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_bad_save_path_and_missing_config(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _tool().parse_args([CONFIG, '--save-path', 'whole.txt'])
    assert 'must end in .py, .json, .yml, .yaml' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='config file .*nope.py does not'):
        _tool().main([str(tmp_path / 'nope.py')])


def test_detector_config_prints_without_the_pkg_resources_notice():
    """Its ``mmdet::`` bases made mmengine print the notice 5 times."""
    proc = run_tool('misc/print_config.py', DETECTOR_CONFIG)
    assert proc.stdout.startswith('Config:\n')
    assert "type='MaskRCNN'" in proc.stdout  # the mmdet:: bases were read
    assert PKG_RESOURCES_NOTICE not in proc.stderr, proc.stderr[-2000:]

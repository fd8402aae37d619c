"""analyze_logs.py (plot_curve, cal_train_time) on hand-written logs."""
import json
import os.path as osp
import runpy

import pytest

from mmsoco.utils.log_analysis import curve, load_scalars

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _main(argv):
    runpy.run_path(
        osp.join(REPO, 'tools', 'analysis_tools', 'analyze_logs.py'))['main'](
            argv)


def _train(epoch, it, step, time):
    return dict(
        lr=0.1 * step,
        loss=10.0 / step,
        momentum=0.99 + step / 1e3,
        time=time,
        data_time=0.1,
        epoch=epoch,
        iter=it,
        step=step)


def _write(path, records, junk=()):
    lines = [json.dumps(r) for r in records] + list(junk)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture
def epoch_log(tmp_path):
    # 2 epochs of 4 logged iterations; the first of each is the outlier.
    times = {1: [9.0, 1.0, 2.0, 3.0], 2: [7.0, 2.0, 4.0, 6.0]}
    records = []
    for epoch, ts in times.items():
        for i, t in enumerate(ts, 1):
            records.append(_train(epoch, i, (epoch - 1) * 4 + i, t))
        # a val record after each epoch: no "iter", step = epoch
        records.append({
            'coco/bbox_mAP': 0.1 * epoch,
            'time': 50.0,
            'data_time': 1.0,
            'step': epoch
        })
    return _write(tmp_path / 'scalars.json', records)


def test_cal_train_time_by_hand(epoch_log, capsys):
    _main(['cal_train_time', epoch_log])
    out = capsys.readouterr().out
    # without outliers: epoch 1 (1+2+3)/3 = 2, epoch 2 (2+4+6)/3 = 4;
    # std of (2, 4) = 1; all six kept: 18/6 = 3. Val times are not counted.
    assert 'slowest epoch 2, average time is 4.0000' in out
    assert 'fastest epoch 1, average time is 2.0000' in out
    assert 'time std over epochs is 1.0000' in out
    assert 'average iter time: 3.0000 s/iter' in out
    _main(['cal_train_time', epoch_log, '--include-outliers'])
    out = capsys.readouterr().out
    # 15/4 = 3.75 and 19/4 = 4.75; std 0.5; 34/8 = 4.25
    assert 'slowest epoch 2, average time is 4.7500' in out
    assert 'fastest epoch 1, average time is 3.7500' in out
    assert 'time std over epochs is 0.5000' in out
    assert 'average iter time: 4.2500 s/iter' in out


def test_plot_curve_writes_a_png_of_the_logged_values(epoch_log, tmp_path,
                                                      capsys):
    out = tmp_path / 'curves.png'
    _main([
        'plot_curve', epoch_log, '--keys', 'loss', 'momentum', 'lr',
        'bbox_mAP', '--out',
        str(out)
    ])
    assert f'save curve to: {out}' in capsys.readouterr().out
    data = out.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    width, height = (int.from_bytes(data[16:20],
                                    'big'), int.from_bytes(data[20:24], 'big'))
    assert width == 600 and height > width  # 4 stacked panels
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'curves.png', 'scalars.json'
    ]  # no temp file left
    records = load_scalars(epoch_log)
    # x is the global step of the train records, the epoch of val records
    assert curve(records, 'loss') == ([1, 2, 3, 4, 5, 6, 7,
                                       8], [10.0 / s for s in range(1, 9)])
    assert curve(records, 'bbox_mAP') == ([1, 2], [0.1, 0.2])


def test_bad_logs_name_the_file_and_line(tmp_path):
    bad = _write(
        tmp_path / 'bad.json', [_train(1, 1, 1, 1.0)], junk=['{"loss": 1.0'])
    with pytest.raises(SystemExit, match=r'bad\.json:2 is not JSON'):
        _main(['plot_curve', bad, '--out', str(tmp_path / 'x.png')])
    good = _write(tmp_path / 'good.json', [_train(1, 1, 1, 1.0)])
    with pytest.raises(
            SystemExit, match=r'good\.json has no "proj_std"; its keys are'):
        _main([
            'plot_curve', good, '--keys', 'proj_std', '--out',
            str(tmp_path / 'x.png')
        ])
    assert not (tmp_path / 'x.png').exists()
    with pytest.raises(SystemExit, match='--include-outliers'):
        _main(['cal_train_time', good])  # its only record is the outlier

"""benchmarks/transfer_runs.py: reading back what a run logged (fake
mmengine run folders with hand-written rows)."""
import json

import pytest
import torch
from transfer_modules import load

tr = load('transfer_runs')


def _fake_run(tmp_path, log_text, scalars_rows=()):
    run = tmp_path / 'run' / '20260101_000000'
    (run / 'vis_data').mkdir(parents=True)
    (run / '20260101_000000.log').write_text(log_text)
    (run / 'vis_data' / 'scalars.json').write_text(''.join(
        json.dumps(r) + '\n' for r in scalars_rows))
    return str(tmp_path / 'run')


def test_last_metrics_reads_the_last_coco_line(tmp_path):
    rows = [{
        'loss': 1.0
    }, {
        'coco/bbox_mAP': 0.1
    }, {
        'loss': 0.5
    }, {
        'coco/bbox_mAP': 0.2,
        'coco/segm_mAP': 0.3,
        'step': 9
    }]
    assert tr.last_metrics(_fake_run(tmp_path, 'x', rows)) == \
        {'coco/bbox_mAP': 0.2, 'coco/segm_mAP': 0.3}


def test_no_detection_run_counts_as_zero(tmp_path):
    run = _fake_run(tmp_path, 'ERROR - ' + tr.EMPTY_RESULTS_MESSAGE + '.\n',
                    [{
                        'loss': 1.0
                    }])
    assert tr.last_metrics(run) == {
        'coco/bbox_mAP': 0.0,
        'coco/bbox_mAP_50': 0.0,
        'coco/segm_mAP': 0.0,
        'no_detections': True
    }


def test_a_run_without_metrics_or_the_message_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match='no COCO metrics.*run'):
        tr.last_metrics(_fake_run(tmp_path, 'crashed\n', [{'loss': 1.0}]))


def test_final_train_loss_averages_the_last_quarter(tmp_path):
    rows = [
        dict(loss=10.0 - step / 20, step=step, iter=step)
        for step in range(20, 101, 20)
    ]  # 9.0 8.0 7.0 6.0 5.0
    rows.insert(3, {'coco/bbox_mAP': 0.1, 'step': 0})  # a val line
    run = _fake_run(tmp_path, 'x', rows)
    # 100 iterations: the last quarter is steps 76-100 -> the 80 and 100 logs
    assert tr.final_train_loss(run, 100) == pytest.approx(5.5)
    assert tr.final_train_loss(run, 100, fraction=0.5) == \
        pytest.approx(6.0)                              # steps 60 80 100
    assert tr.final_train_loss(str(tmp_path / 'none'), 100) is None


def test_pretrain_log_summary_by_hand():
    # 10 logged rows: loss 10, 9, ..., 1; time 5 for the first (start-up),
    # then 2, 2, 3, 3, 3, 4, 4, 4, 4
    times = [5, 2, 2, 3, 3, 3, 4, 4, 4, 4]
    rows = [
        dict(loss=10.0 - i, time=t, step=10 * (i + 1))
        for i, t in enumerate(times)
    ]
    rows.insert(4, {'coco/bbox_mAP': 0.1})  # no loss: not a train row
    got = tr.pretrain_log_summary(rows)
    assert got['loss_first'] == pytest.approx(9.5)  # first fifth: 10, 9
    assert got['loss_last'] == pytest.approx(1.5)  # last fifth: 2, 1
    assert got['s_per_iter_logged'] == 3  # median of the nine after start-up


def test_state_dict_digest_sees_values_keys_and_shapes():
    base = {'a': torch.zeros(2, 3), 'b': torch.arange(4.)}
    same = {'b': torch.arange(4.), 'a': torch.zeros(2, 3)}
    assert tr.state_dict_digest(base) == tr.state_dict_digest(same)
    one_value = {'a': torch.zeros(2, 3), 'b': torch.tensor([0., 1, 2, 3.5])}
    renamed = {'a': torch.zeros(2, 3), 'c': torch.arange(4.)}
    reshaped = {'a': torch.zeros(3, 2), 'b': torch.arange(4.)}
    digests = {
        tr.state_dict_digest(d)
        for d in (base, one_value, renamed, reshaped)
    }
    assert len(digests) == 4


def test_records_are_written_whole_with_the_umask_mode(tmp_path):
    import os
    path = tmp_path / 'r.json'
    old = os.umask(0o027)
    try:
        tr.write_json(str(path), {'b': 1, 'a': [1, 2]})
    finally:
        os.umask(old)
    assert tr.read_json(str(path)) == {'a': [1, 2], 'b': 1}
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ['r.json']

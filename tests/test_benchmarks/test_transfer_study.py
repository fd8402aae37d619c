"""benchmarks/transfer_study.py without training: what is left to run from
the records, the digest check of a recomputed pretraining, and what a
fine-tuning's record names."""
import os

import pytest
from transfer_modules import load

td = load('transfer_demo')
ts = load('transfer_setup')
tst = load('transfer_study')
P, F = ts.PretrainRun, ts.FinetuneRun


def _study(tmp_path, seeds=(0, 1), pretrain_seeds=(0, )):
    args = td.parse_args([
        '--seeds', *map(str, seeds), '--pretrain-seeds',
        *map(str, pretrain_seeds), '--jobs', '2'
    ])
    work, records = tmp_path / 'work', tmp_path / 'records'
    work.mkdir()
    records.mkdir()
    return tst.Study(args, str(tmp_path / 'data'), str(work), str(records))


def test_todo_skips_recorded_runs_and_pretrainings_nobody_needs(tmp_path):
    study = _study(tmp_path, seeds=(0, 1), pretrain_seeds=(0, 1))
    # seed 0 (pretraining 0) is fully recorded; seed 1 has soco done and
    # the converted soco_fast weights of pretraining 1 still on disk
    for run in study.plan:
        if isinstance(run, F) and (run.seed == 0 or run.init == 'soco'):
            tst.runs.write_json(study.record_file(run), {})
    open(study.converted(P('soco_fast', 1)), 'w').close()
    assert study.todo() == [
        P('byol', 1),
        P('byol_short', 1),
        P('byol_soco', 1),
        P('byol_soco_frozen', 1),
        F('soco_fast', 1, 1),
        F('byol', 1, 1),
        F('byol_soco', 1, 1),
        F('byol_soco_frozen', 1, 1),
        F('scratch', 1, None)
    ]
    assert not study.ready(F('byol', 1, 1))
    assert study.ready(F('soco_fast', 1, 1))
    assert study.ready(F('scratch', 1, None))
    # a warm start's SoCo stage waits for its BYOL stage's checkpoint
    assert study.ready(P('byol_short', 1))
    assert not study.ready(P('byol_soco', 1))
    open(study.converted(P('byol_short', 1)), 'w').close()
    assert study.ready(P('byol_soco', 1))


def test_a_recorded_first_study_grows_only_the_warm_starts(tmp_path):
    """The four-init study's records are kept: only the warm starts run,
    and their BYOL stage only while a SoCo stage still needs it."""
    study = _study(tmp_path, seeds=(0, 1), pretrain_seeds=(0, ))
    for run in study.plan:
        if isinstance(run, F) and run.init not in ts.WARM_INITS:
            tst.runs.write_json(study.record_file(run), {})
    assert study.todo() == [
        P('byol_short', 0),
        P('byol_soco', 0),
        P('byol_soco_frozen', 0),
        F('byol_soco', 0, 0),
        F('byol_soco_frozen', 0, 0),
        F('byol_soco', 1, 0),
        F('byol_soco_frozen', 1, 0)
    ]
    for init in ts.WARM_INITS:  # both SoCo stages done: no BYOL stage
        open(study.converted(P(init, 0)), 'w').close()
    assert study.todo() == [
        r for r in study.plan if isinstance(r, F) and r.init in ts.WARM_INITS
    ]


def _fake_pretraining_output(monkeypatch, digest):
    monkeypatch.setattr(
        tst, 'convert', lambda run, src, dst:
        (open(dst, 'w').close(), digest)[1])
    rows = [dict(loss=8.0 - i, time=2.0, step=10 * (i + 1)) for i in range(5)]
    monkeypatch.setattr(tst.runs, 'logged_rows', lambda run_dir: iter(rows))


def test_recomputed_pretraining_must_match_the_recorded_weights(
        tmp_path, monkeypatch):
    study = _study(tmp_path)
    study.iters_per_epoch = 5  # as main() sets it from the data
    run = P('soco', 0)
    timing = dict(wall_s=100.0, threads=1, jobs=2, load_mean=2.0)
    _fake_pretraining_output(monkeypatch, 'a' * 64)
    study.finish_pretraining(run, 'unused', timing)
    record = study.record(run)
    assert record['converted_sha256'] == 'a' * 64
    assert record['iterations'] == 100  # 20 epochs x 5
    assert record['s_per_iter_wall'] == pytest.approx(1.0)  # 100 s / 100
    # the stages of a warm start: 14 and 6 of the 20 epochs
    for init, iters in (('byol_short', 70), ('byol_soco', 30)):
        study.finish_pretraining(P(init, 0), 'unused', timing)
        assert study.record(P(init, 0))['iterations'] == iters
    # the same weights again: the first timing stays, the recompute is noted
    study.finish_pretraining(run, 'unused', dict(timing, wall_s=120.0))
    record = study.record(run)
    assert record['wall_s'] == 100.0
    assert record['recomputed'] == [dict(timing, wall_s=120.0)]
    # other weights: refused, the new file put aside, the record untouched
    _fake_pretraining_output(monkeypatch, 'b' * 64)
    with pytest.raises(RuntimeError, match='recomputed to other weights'):
        study.finish_pretraining(run, 'unused', timing)
    assert not os.path.exists(study.converted(run))
    assert os.path.exists(study.converted(run) + '.differs')
    assert study.record(run)['converted_sha256'] == 'a' * 64


def test_finetuning_record_names_its_init_weights(tmp_path, monkeypatch):
    study = _study(tmp_path)
    tst.runs.write_json(
        study.record_file(P('byol', 0)), dict(converted_sha256='c' * 64))
    monkeypatch.setattr(
        tst.runs, 'run_metrics', lambda run_dir, iters: {
            'coco/bbox_mAP': 0.03,
            'final_train_loss': 1.0
        })
    run = F('byol', 1, 0)
    study.finish_finetuning(run, 'unused',
                            dict(wall_s=5.0, threads=1, jobs=2, load_mean=1.0))
    record = study.record(run)
    assert record['init_sha256'] == 'c' * 64
    assert (record['init'], record['seed'], record['pretrain_seed']) == \
        ('byol', 1, 0)
    assert record['coco/bbox_mAP'] == 0.03

"""benchmarks/transfer_report.py: statistics, paired differences, the fixed
reading and the README section, on hand-made records."""
import math

import pytest
from transfer_modules import load

rp = load('transfer_report')
sec = load('transfer_section')
ts = load('transfer_setup')
P, F = ts.PretrainRun, ts.FinetuneRun

# bbox AP per (init, seed); mask AP is bbox AP - 0.005 everywhere
BBOX = {
    ('soco', 0):
    0.040,
    ('soco_fast', 0):
    0.030,
    ('byol', 0):
    0.025,
    ('scratch', 0):
    0.020,
    ('soco', 1):
    0.036,
    ('soco_fast', 1):
    0.038,
    ('byol', 1):
    0.027,
    ('scratch', 1):
    0.022,
    # warm starts: trainable ahead of soco on both seeds, of frozen on one
    ('byol_soco', 0):
    0.045,
    ('byol_soco', 1):
    0.040,
    ('byol_soco_frozen', 0):
    0.050,
    ('byol_soco_frozen', 1):
    0.030,
}
TIMES = {
    'soco': 6.0,
    'soco_fast': 4.5,
    'byol': 3.0,
    'byol_short': 3.0,
    'byol_soco': 6.0,
    'byol_soco_frozen': 4.0
}
#: iterations and wall seconds of each pretraining (warm: 210 + 90)
ITERS = {'byol_short': 210, 'byol_soco': 90, 'byol_soco_frozen': 90}
STUDY = dict(
    params=dict(
        num_images=300,
        pretrain_epochs=20,
        pretrain_seeds=[0],
        finetune_iters=1000,
        num_labeled=60,
        split_seed=0,
        img_scale=320,
        seeds=[0, 1],
        warm_byol_epochs=14),
    facts=dict(
        num_train=240,
        num_val=60,
        num_labeled_objects=310,
        batch_size=16,
        pretrain_iters=300))


def _records(drop=()):
    records = {}
    for run in ts.study_plan([0], [0, 1]):
        if isinstance(run, P):
            iters = ITERS.get(run.init, 300)
            records[run] = dict(
                iterations=iters,
                wall_s=iters * (TIMES[run.init] + 1),
                s_per_iter_logged=TIMES[run.init],
                s_per_iter_wall=TIMES[run.init] + 1,
                jobs=2,
                threads=1,
                load_mean=2.0,
                loss_first=8.0,
                loss_last=4.0)
        else:
            ap = BBOX[run.init, run.seed]
            records[run] = {
                'coco/bbox_mAP': ap,
                'coco/bbox_mAP_50': 2 * ap,
                'coco/segm_mAP': ap - 0.005,
                'final_train_loss': 1.0
            }
        if run.name in drop:
            records[run] = None
    return records


def test_stats_mean_sample_std_range():
    s = rp.stats([0.1, 0.2, 0.3])
    # squared deviations 0.01 + 0 + 0.01 over n - 1 = 2 -> std 0.1
    assert s['mean'] == pytest.approx(0.2) and s['std'] == pytest.approx(0.1)
    assert (s['min'], s['max'], s['n']) == (0.1, 0.3, 3)
    assert math.isnan(rp.stats([0.5])['std'])


def test_paired_differences_and_their_reading():
    by_init = rp.finetunings_by_init(_records())
    diffs = rp.paired_differences(by_init, 'soco', 'soco_fast', rp.PRIMARY)
    assert [s for s, _ in diffs] == [0, 1]
    assert [d for _, d in diffs] == pytest.approx([0.010, -0.002])
    assert rp.sign_reading(diffs) == ('not resolved', 1)
    assert rp.sign_reading(
        rp.paired_differences(by_init, 'soco', 'byol', rp.PRIMARY)) == \
        ('ordered', 2)
    assert rp.sign_reading(
        rp.paired_differences(by_init, 'scratch', 'byol', rp.PRIMARY)) == \
        ('reversed', 0)
    # a seed only one init has is not paired
    by_init['soco'].pop(1)
    assert [
        s
        for s, _ in rp.paired_differences(by_init, 'soco', 'byol', rp.PRIMARY)
    ] == [0]


def test_pair_table_row_by_hand():
    table = rp.format_pair_table(rp.finetunings_by_init(_records()))
    # soco - soco_fast: +1.0 and -0.2 points, mean +0.4, std
    # sqrt(0.6^2 + 0.6^2) = 0.85
    assert ('| soco − soco_fast | bbox AP | 0: +1.0, 1: -0.2 | +0.4 ± 0.8 | '
            '1 of 2 | not resolved |') in table
    assert ('| byol − scratch | bbox AP | 0: +0.5, 1: +0.5 | +0.5 ± 0.0 | '
            '2 of 2 | ordered |') in table


def test_init_table_in_transfer_order_in_points():
    table = rp.format_init_table(
        rp.summarize(rp.finetunings_by_init(_records()))).splitlines()
    assert [row.split(' | ')[0] for row in table[2:]] == [
        '| scratch', '| byol', '| soco_fast', '| soco', '| byol_soco_frozen',
        '| byol_soco'
    ]
    assert table[2] == ('| scratch | 2 | 2.1 ± 0.1 (2.0–2.2) | 4.2 ± 0.3 '
                        '(4.0–4.4) | 1.6 ± 0.1 (1.5–1.7) | 1.000 ± 0.000 '
                        '(1.000–1.000) |')


def test_complete_study_gives_the_fixed_readings():
    section = sec.format_section(_records(), STUDY, 'CMD')
    assert 'Command: `CMD`' in section
    assert 'Partial' not in section and 'Plumbing' not in section
    readings = section.split('Readings (the fixed rule):')[1]
    # twice the std of the paired differences: 2 x 0.85 = 1.70 points
    assert ('Reference vs fast batching, bbox AP: **not resolved** '
            '(reference ahead on 1 of 2 seeds, mean +0.40 points). Not a '
            'proof of equality: a difference below about 1.70 points'
            in readings)
    assert '- soco vs byol, bbox AP: soco > byol on every seed.' in readings
    assert 'soco_fast vs byol, bbox AP: soco_fast > byol' in readings
    assert 'soco 2.00x, soco_fast 1.50x' in section  # 6.0 and 4.5 over 3.0
    assert '| soco | 0 | 300 | 6.00 | 7.00 | 2 × 1 | 2.0 | 8.00 → 4.00 |' \
        in section


def test_one_way_ordered_reading_names_the_better_batching():
    records = _records()
    records[F('soco_fast', 1, 0)]['coco/bbox_mAP'] = 0.050  # fast ahead
    records[F('soco_fast', 0, 0)]['coco/bbox_mAP'] = 0.045
    section = sec.format_section(records, STUDY, 'CMD')
    assert ('bbox AP: the **fast** batching is ahead on every one of the 2 '
            'seeds (mean reference − fast -0.95 points)') in section


def test_partial_or_short_study_draws_no_conclusion():
    section = sec.format_section(
        _records(drop=('finetune_byol_p0_s1', 'pretrain_byol_p0')), STUDY,
        'CMD')
    assert ('**Partial study: 11 of 12 fine-tunings and 5 of 6 '
            'pretrainings recorded.**') in section
    assert 'Readings' not in section
    assert '| byol | 1 |' in section  # what is there is shown
    short = dict(STUDY, params=dict(STUDY['params'], finetune_iters=4))
    section = sec.format_section(_records(), short, 'CMD')
    assert '**Plumbing check only**' in section and 'Readings' not in section


def test_pretraining_cost_sums_the_stages_of_a_warm_start():
    records = _records()
    costs = rp.init_costs(records)
    # soco 300 x 7 s; byol_soco 210 x 4 s + 90 x 7 s; frozen 840 + 90 x 5
    assert costs['soco'] == {0: (300, 2100.0)}
    assert costs['byol_soco'] == {0: (300, 840.0 + 630.0)}
    assert costs['byol_soco_frozen'] == {0: (300, 840.0 + 450.0)}
    assert 'byol_short' not in costs
    table = rp.format_cost_table(records)
    assert '| byol_soco | byol_short + byol_soco | 300 | 0: 24.5 | 24.5 |' \
        in table
    # a stage missing: the init's cost is not shown
    records[P('byol_short', 0)] = None
    assert 'byol_soco' not in rp.init_costs(records)
    rows = rp.format_pretrain_table(_records()).splitlines()[2:]
    assert [row.split(' | ')[0] for row in rows] == [
        '| soco', '| soco_fast', '| byol', '| byol_short', '| byol_soco',
        '| byol_soco_frozen'
    ]


def test_warm_start_readings_and_the_recipe_default():
    by_init = rp.finetunings_by_init(_records())
    lines = rp.warm_conclusions(by_init)
    # byol_soco - soco: +0.5 and +0.4 points; - frozen: -0.5 and +1.0
    assert ('- warm start vs SoCo from random weights at the same budget '
            '(byol_soco − soco), bbox AP: byol_soco > soco on every seed, '
            'mean +0.45 points.') in lines
    assert any('(byol_soco − byol_soco_frozen), bbox AP: **not resolved** '
               '(byol_soco ahead on 1 of 2)' in line for line in lines)
    assert lines[-1].endswith('the backbone is **trainable** '
                              '(byol_soco_frozen not ahead on every seed).')
    records = _records()
    records[F('byol_soco_frozen', 1, 0)]['coco/bbox_mAP'] = 0.041
    lines = rp.warm_conclusions(rp.finetunings_by_init(records))
    assert '**frozen**' in lines[-1]
    section = sec.format_section(_records(), STUDY, 'CMD')
    assert 'vs warm starts' in section
    assert ('byol_r18_demo.py for 14 epochs (210 iterations, run '
            '`byol_short`), then soco_r18fpn_demo.py for 6 epochs (90 '
            'iterations)') in section
    assert 'a SoCo stage vs more BYOL (byol_soco − byol)' in section

"""The pure parts of benchmarks/transfer_demo.py (no training here): the
labeled split, the generated configs, the same-budget check, the per-seed
aggregation and the README section rewrite."""
import argparse
import importlib.util
import math
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_script():
    path = osp.join(REPO, 'benchmarks', 'transfer_demo.py')
    spec = importlib.util.spec_from_file_location('transfer_demo', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


td = _load_script()


def _coco(num_images):
    images = [
        dict(id=i, file_name=f'train/{i:06d}.jpg') for i in range(num_images)
    ]
    # image i has i % 3 + 1 annotations
    annotations = [
        dict(id=100 * i + k, image_id=i, category_id=1)
        for i in range(num_images) for k in range(i % 3 + 1)
    ]
    return dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=1, name='a')],
        info={})


# --- labeled split ---------------------------------------------------------
def test_labeled_subset_picks_images_and_their_annotations():
    coco = _coco(20)
    sub = td.labeled_subset(coco, 5, seed=0)
    ids = [img['id'] for img in sub['images']]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) <= set(range(20))
    assert sub['categories'] == coco['categories']
    expected = sum(i % 3 + 1 for i in ids)
    assert len(sub['annotations']) == expected
    assert {a['image_id'] for a in sub['annotations']} == set(ids)
    # the input is not modified
    assert len(coco['images']) == 20


def test_labeled_subset_is_seeded():
    coco = _coco(40)
    ids = [[img['id'] for img in td.labeled_subset(coco, 10, s)['images']]
           for s in (0, 0, 1)]
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]


def test_labeled_subset_whole_split_and_too_many():
    coco = _coco(7)
    for num in (0, 7):
        assert len(td.labeled_subset(coco, num, 0)['images']) == 7
        assert len(td.labeled_subset(coco, num, 0)['annotations']) == \
            len(coco['annotations'])
    with pytest.raises(ValueError, match='only 7 images'):
        td.labeled_subset(coco, 8, 0)


# --- aggregation -----------------------------------------------------------
def _rows(values, key='coco/bbox_mAP'):
    return [{key: v} for v in values]


def test_summarize_mean_sample_std_and_range():
    per_seed = {
        'soco': [{
            'coco/bbox_mAP': 0.1,
            'coco/bbox_mAP_50': 0.3
        }, {
            'coco/bbox_mAP': 0.2,
            'coco/bbox_mAP_50': 0.5
        }, {
            'coco/bbox_mAP': 0.3,
            'coco/bbox_mAP_50': 0.4
        }]
    }
    stats = td.summarize(per_seed)['soco']
    ap = stats['coco/bbox_mAP']
    # mean 0.2; squared deviations 0.01 + 0 + 0.01 over n - 1 = 2 -> 0.1
    assert ap['mean'] == pytest.approx(0.2)
    assert ap['std'] == pytest.approx(0.1)
    assert (ap['min'], ap['max'], ap['n']) == (0.1, 0.3, 3)
    ap50 = stats['coco/bbox_mAP_50']
    assert ap50['mean'] == pytest.approx(0.4)
    assert ap50['std'] == pytest.approx(0.1)
    assert (ap50['min'], ap50['max']) == (0.3, 0.5)
    assert 'coco/segm_mAP' not in stats  # not logged -> not invented


def test_summarize_single_seed_has_no_std():
    ap = td.summarize({'byol': _rows([0.25])})['byol']['coco/bbox_mAP']
    assert ap['mean'] == 0.25 and ap['n'] == 1
    assert math.isnan(ap['std'])


def test_ordering_and_separation():
    summary = td.summarize({
        'scratch': _rows([0.10, 0.12]),
        'byol': _rows([0.11, 0.20]),
        'soco': _rows([0.25, 0.30])
    })
    ranked, separated = td.ordering(summary)
    assert ranked == ['soco', 'byol', 'scratch']
    # soco's worst (0.25) > byol's best (0.20); byol's worst (0.11) is below
    # scratch's best (0.12)
    assert separated == [True, False]


def test_format_table_rows_in_claim_order_in_points():
    summary = td.summarize({
        'soco': _rows([0.1, 0.2, 0.3]),
        'scratch': _rows([0.05])
    })
    table = td.format_table(summary).splitlines()
    assert table[0].startswith('| init | seeds | bbox mAP')
    assert table[2].startswith('| scratch | 1 | 5.0 |')
    assert table[3].startswith('| soco | 3 | 20.0 ± 10.0 (10.0–30.0) |')
    assert len(table) == 4  # no byol row: it was not run


# --- README section --------------------------------------------------------
def test_replace_section_keeps_the_rest_byte_for_byte():
    head = '# Benchmarks\n\n<!-- a:begin -->\nA\n<!-- a:end -->\n\n'
    tail = '\n\n<!-- b:begin -->\nB  \n<!-- b:end -->\n'
    text = head + td.BEGIN + '\nold\nlines\n' + td.END + tail
    new = td.replace_section(text, 'new body')
    assert new == head + td.BEGIN + '\nnew body\n' + td.END + tail
    assert td.replace_section(new, 'new body') == new


def test_replace_section_appends_or_refuses_half_markers():
    assert td.replace_section('# B\n\n', 'x') == \
        f'# B\n\n{td.BEGIN}\nx\n{td.END}\n'
    with pytest.raises(ValueError, match='only one of'):
        td.replace_section(f'# B\n{td.BEGIN}\nold\n', 'x')


def test_final_train_loss_averages_the_last_quarter(tmp_path):
    rows = [
        dict(loss=10.0 - step / 20, step=step, iter=step)
        for step in range(20, 101, 20)
    ]  # 9.0 8.0 7.0 6.0 5.0
    rows.insert(3, {'coco/bbox_mAP': 0.1, 'step': 0})  # a val line
    run = _fake_run(tmp_path, 'x', rows)
    # 100 iterations: the last quarter is steps 76-100 -> the 80 and 100 logs
    assert td.final_train_loss(run, 100) == pytest.approx(5.5)
    assert td.final_train_loss(run, 100, fraction=0.5) == \
        pytest.approx(6.0)                              # steps 60 80 100
    assert td.final_train_loss(str(tmp_path / 'none'), 100) is None


def test_table_reports_train_loss_unscaled_beside_ap():
    per_seed = {
        'scratch': [{
            'coco/bbox_mAP': 0.01,
            'final_train_loss': 1.2
        }, {
            'coco/bbox_mAP': 0.03,
            'final_train_loss': 1.0
        }],
        'soco': [{
            'coco/bbox_mAP': 0.05,
            'final_train_loss': 0.9
        }]
    }
    table = td.format_table(td.summarize(per_seed)).splitlines()
    assert table[0].endswith('| train loss, last 1/4 |')
    assert table[2] == ('| scratch | 2 | 2.0 ± 1.4 (1.0–3.0) | - | - | '
                        '1.100 ± 0.141 (1.000–1.200) |')
    assert table[3] == '| soco | 1 | 5.0 | - | - | 0.900 |'
    # without losses the column is left out
    assert 'train loss' not in td.format_table(
        td.summarize({'soco': _rows([0.1])}))


def test_tagged_section_lives_beside_the_default_one():
    text = f'# B\n\n{td.BEGIN}\nfirst study\n{td.END}\n'
    both = td.replace_section(text, 'second study', tag='long')
    assert both == (
        text + '\n<!-- transfer_demo:long:begin -->\n'
        'second study\n<!-- transfer_demo:long:end -->\n')
    # rewriting either one leaves the other untouched
    again = td.replace_section(both, 'second, rerun', tag='long')
    assert f'{td.BEGIN}\nfirst study\n{td.END}' in again
    assert 'second, rerun' in again and 'second study' not in again
    first = td.replace_section(again, 'first, rerun')
    assert 'second, rerun' in first and 'first study' not in first


def test_readme_tag_is_checked_and_reproduced():
    args = td.parse_args(['--readme-tag', 'ft1000', '--seeds', '0', '1'])
    assert args.readme_tag == 'ft1000'
    with pytest.raises(SystemExit):
        td.parse_args(['--readme-tag', 'a b'])
    tagged = _args(
        readme_tag='ft1000', finetune_iters=1000, work_dir='work_dirs/ft1000')
    assert td.command_line(tagged).endswith('--write-readme '
                                            '--readme-tag ft1000')
    # a second study lives in its own work dir: the command names it
    assert '--work-dir work_dirs/ft1000 ' in td.command_line(tagged)
    assert '--work-dir' not in td.command_line(_args())
    summary = td.summarize({init: _rows([0.1, 0.2]) for init in td.INITS})
    section = td.format_section(summary, tagged, _FACTS)
    assert section.startswith('## Transfer on the demo data, 1000 '
                              'fine-tuning iterations')


def _args(**kw):
    args = dict(
        num_images=300,
        pretrain_epochs=20,
        pretrain_seed=0,
        finetune_iters=300,
        num_labeled=60,
        split_seed=0,
        img_scale=320,
        seeds=[0, 1, 2],
        data_root='data/demo',
        data_root_given=False,
        work_dir=td.DEFAULT_WORK_DIR,
        readme_tag='')
    args.update(kw)
    return argparse.Namespace(**args)


_FACTS = dict(
    num_train=240,
    num_val=60,
    num_labeled_objects=340,
    batch_size=16,
    pretrain_iters=300)


def test_section_of_a_real_run_states_the_ordering():
    summary = td.summarize({
        'scratch': _rows([0.3, 0.31]),
        'byol': _rows([0.1, 0.12]),
        'soco': _rows([0.2, 0.22])
    })
    section = td.format_section(summary, _args(), _FACTS)
    assert 'Plumbing check' not in section
    assert '--seeds 0 1 2 --write-readme' in section
    assert 'scratch > soco > byol' in section
    assert '("≳"' not in section  # every step separated: no legend
    assert 'does NOT show it' in section
    assert 'add it with `--note FILE`' in section
    with_note = td.format_section(summary, _args(), _FACTS, note='Because.')
    assert with_note.endswith('Because.')
    assert '--note FILE' not in with_note


def test_section_of_a_short_run_is_a_plumbing_check():
    summary = td.summarize({init: _rows([0.0, 0.001]) for init in td.INITS})
    section = td.format_section(
        summary,
        _args(
            pretrain_epochs=2,
            finetune_iters=2,
            seeds=[0, 1],
            data_root='/tmp/d',
            data_root_given=True), _FACTS)
    assert '**Plumbing check only**' in section
    assert td.DEFAULT_COMMAND in section
    assert '--data-root /tmp/d' in section
    assert 'Observed ordering' not in section


# --- study parameters and configs -----------------------------------------
def test_check_study_params_names_what_changed():
    recorded = dict(num_labeled=60, img_scale=320)
    td.check_study_params(recorded, dict(recorded))
    with pytest.raises(ValueError, match='num_labeled: 60 there, 0 now'):
        td.check_study_params(recorded, dict(recorded, num_labeled=0))


def _pretrain_cfgs(epochs=4):
    from mmengine.config import Config
    return {
        name:
        td.pretrain_cfg_changes(
            Config.fromfile(path), '/tmp/d', epochs, seed=3)
        for name, path in td.PRETRAIN_CONFIGS.items()
    }


def test_soco_and_byol_pretrainings_have_the_same_budget():
    cfgs = _pretrain_cfgs()
    budget = td.check_same_budget(cfgs)
    assert budget['train_cfg']['max_epochs'] == 4
    assert budget['dataset']['data_root'] == '/tmp/d/'
    assert cfgs['soco'].model.type != cfgs['byol'].model.type
    caches = [
        s['cache_dir'] for s in budget['dataset']['pipeline']
        if 'cache_dir' in s
    ]
    assert caches == ['/tmp/d/proposal_cache']
    cfgs['byol'].train_dataloader.batch_size = 8
    with pytest.raises(ValueError, match='batch_size'):
        td.check_same_budget(cfgs)


def test_finetune_config_points_at_the_split_and_init():
    from mmengine.config import Config
    cfg = td.finetune_cfg_changes(
        Config.fromfile(td.DET_CONFIG), '/tmp/d', '/w/labeled_train.json', 40,
        128, 5, '/w/byol_mmdet.pth')
    assert cfg.train_dataloader.dataset.ann_file == '/w/labeled_train.json'
    assert cfg.train_dataloader.dataset.data_root == '/tmp/d/'
    for name in ('val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.ann_file == \
            '/tmp/d/annotations/instances_val.json'
    assert cfg.val_evaluator.ann_file == \
        '/tmp/d/annotations/instances_val.json'
    scales = [
        s['scale'] for name in ('train_dataloader', 'val_dataloader')
        for s in cfg[name].dataset.pipeline if s['type'] == 'Resize'
    ]
    assert scales == [(128, 128), (128, 128)]
    assert cfg.train_cfg.max_iters == 40
    assert cfg.param_scheduler[1].milestones == [30]
    assert cfg.randomness.seed == 5
    assert cfg.load_from == '/w/byol_mmdet.pth'


# --- runs without detections ----------------------------------------------
def _fake_run(tmp_path, log_text, scalars_rows=()):
    import json
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
        'coco/bbox_mAP': 0.2
    }]
    assert td.last_metrics(_fake_run(tmp_path, 'x', rows)) == \
        {'coco/bbox_mAP': 0.2}


def test_no_detection_run_counts_as_zero_and_is_reported(tmp_path):
    run = _fake_run(tmp_path, 'ERROR - ' + td.EMPTY_RESULTS_MESSAGE + '.\n',
                    [{
                        'loss': 1.0
                    }])
    metrics = td.last_metrics(run)
    assert metrics['no_detections'] is True
    assert {k: metrics[k] for k, _ in td.METRICS} == \
        {k: 0.0 for k, _ in td.METRICS}
    per_seed = {
        'byol': [
            metrics, {
                'coco/bbox_mAP': 0.2,
                'coco/bbox_mAP_50': 0.4,
                'coco/segm_mAP': 0.1
            }
        ],
        'soco':
        _rows([0.1, 0.3])
    }
    counts = td.count_no_detections(per_seed)
    assert counts == {'byol': 1}
    assert td.summarize(per_seed)['byol']['coco/bbox_mAP']['mean'] == \
        pytest.approx(0.1)
    section = td.format_section(
        td.summarize(per_seed),
        _args(seeds=[0, 1]),
        _FACTS,
        no_detections=counts)
    assert 'byol 1 of 2' in section


def test_a_run_without_metrics_or_the_message_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match='no COCO metrics'):
        td.last_metrics(_fake_run(tmp_path, 'crashed\n', [{'loss': 1.0}]))

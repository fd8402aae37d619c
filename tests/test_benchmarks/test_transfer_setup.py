"""benchmarks/transfer_setup.py: the study's runs, their order and pairing,
the labeled split and the generated configs (hand-worked expectations)."""
import pytest
from transfer_modules import load

ts = load('transfer_setup')
P, F = ts.PretrainRun, ts.FinetuneRun


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


# --- the plan --------------------------------------------------------------
def test_plan_pairs_seeds_with_pretraining_seeds_in_blocks():
    plan = ts.study_plan([0, 1], [0, 1, 2, 3])

    def pretrained(p, s):
        return [
            F('soco', s, p),
            F('soco_fast', s, p),
            F('byol', s, p),
            F('byol_soco', s, p),
            F('byol_soco_frozen', s, p)
        ]

    def pre(p):  # a warm start's SoCo stage after its BYOL stage
        return [
            P('soco', p),
            P('soco_fast', p),
            P('byol', p),
            P('byol_short', p),
            P('byol_soco', p),
            P('byol_soco_frozen', p)
        ]

    # seeds 0 and 2 start from pretraining seed 0, 1 and 3 from seed 1; in a
    # block the runs needing its checkpoints first, scratch last
    assert plan == (
        pre(0) + pretrained(0, 0) + pretrained(0, 2) +
        [F('scratch', 0, None), F('scratch', 2, None)] + pre(1) +
        pretrained(1, 1) + pretrained(1, 3) +
        [F('scratch', 1, None), F('scratch', 3, None)])
    assert len([r for r in plan if isinstance(r, F)]) == 24
    assert len(set(r.name for r in plan)) == len(plan)
    # the four-init study's runs are all still there, under their names
    first = {
        f'pretrain_{i}_p{p}'
        for i in ('soco', 'soco_fast', 'byol')
        for p in (0, 1)
    }
    assert first <= {r.name for r in plan}


def test_pairing_is_stable_when_seeds_grow():
    # the seed -> pretraining seed map depends on the seed only
    assert [ts.pretrain_seed_of(s, [3, 7]) for s in range(5)] == \
        [3, 7, 3, 7, 3]
    small = set(ts.study_plan([0, 1], [0, 1]))
    assert small <= set(ts.study_plan([0, 1], [0, 1, 2, 3]))


def test_run_names_and_pretraining():
    assert P('soco_fast', 1).name == 'pretrain_soco_fast_p1'
    assert P('byol_soco_frozen', 1).first_stage == P('byol_short', 1)
    assert P('byol_soco', 0).first_stage == P('byol_short', 0)
    assert P('soco', 0).first_stage is None
    assert P('byol_short', 0).first_stage is None
    assert F('byol_soco', 3, 1).pretraining == P('byol_soco', 1)
    assert F('soco', 2, 0).name == 'finetune_soco_p0_s2'
    assert F('soco', 2, 0).pretraining == P('soco', 0)
    assert F('scratch', 3, None).name == 'finetune_scratch_s3'
    assert F('scratch', 3, None).pretraining is None


# --- labeled split ---------------------------------------------------------
def test_labeled_subset_picks_images_and_their_annotations():
    coco = _coco(20)
    sub = ts.labeled_subset(coco, 5, seed=0)
    ids = [img['id'] for img in sub['images']]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) <= set(range(20))
    assert sub['categories'] == coco['categories']
    assert len(sub['annotations']) == sum(i % 3 + 1 for i in ids)
    assert {a['image_id'] for a in sub['annotations']} == set(ids)
    assert len(coco['images']) == 20  # the input is not modified


def test_labeled_subset_is_seeded():
    coco = _coco(40)
    ids = [[img['id'] for img in ts.labeled_subset(coco, 10, s)['images']]
           for s in (0, 0, 1)]
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]


def test_labeled_subset_whole_split_and_too_many():
    coco = _coco(7)
    for num in (0, 7):
        assert len(ts.labeled_subset(coco, num, 0)['images']) == 7
        assert len(ts.labeled_subset(coco, num, 0)['annotations']) == \
            len(coco['annotations'])
    with pytest.raises(ValueError, match='only 7 images'):
        ts.labeled_subset(coco, 8, 0)


# --- configs ---------------------------------------------------------------
def _pretrain_cfgs(epochs=4):
    from mmengine.config import Config
    return {
        name:
        ts.pretrain_cfg_changes(
            Config.fromfile(path), '/tmp/d', epochs, seed=3)
        for name, path in ts.PRETRAIN_CONFIGS.items()
    }


def test_the_three_pretrainings_have_the_same_budget():
    cfgs = _pretrain_cfgs()
    budget = ts.check_same_budget(cfgs)
    assert budget['train_cfg']['max_epochs'] == 4
    assert budget['dataset']['data_root'] == '/tmp/d/'
    caches = [
        s['cache_dir'] for s in budget['dataset']['pipeline']
        if 'cache_dir' in s
    ]
    assert caches == ['/tmp/d/proposal_cache']
    # the two SoCo inits differ in their head batching, nothing else
    soco, fast = (ts.plain(cfgs[k].model) for k in ('soco', 'soco_fast'))
    assert soco.pop('head_batching') == 'per_level'
    assert fast.pop('head_batching') == 'mixed_levels'
    assert soco == fast
    assert cfgs['byol'].model.type != cfgs['soco'].model.type
    assert all(cfg.randomness.seed == 3 for cfg in cfgs.values())
    cfgs['byol'].train_dataloader.batch_size = 8
    with pytest.raises(ValueError, match='batch_size'):
        ts.check_same_budget(cfgs)


def _warm_cfgs(epochs=20, byol_epochs=14):
    """The three configs a warm start's budget check compares."""
    from mmengine.config import Config
    cfgs = {}
    for init in ('soco', 'byol_short', 'byol_soco_frozen'):
        cfgs[init] = ts.pretrain_cfg_changes(
            Config.fromfile(ts.base_config_of(init)),
            '/tmp/d',
            ts.pretrain_epochs_of(init, epochs, byol_epochs),
            seed=3)
    ts.warm_stage_changes(cfgs['byol_soco_frozen'], 'byol_soco_frozen',
                          '/w/byol.pth')
    return cfgs


def test_warm_start_stages_have_the_budget_of_soco():
    cfgs = _warm_cfgs()
    stage = cfgs['byol_soco_frozen']
    assert stage.model.init_cfg == dict(
        type='PretrainedBackbone',
        checkpoint='/w/byol.pth',
        layout='mmsoco_online')
    assert stage.model.backbone.frozen_stages == 4  # all of ResNet-18
    assert stage.model.head_batching == 'per_level'
    assert cfgs['byol_short'].model.type == 'BYOL'
    # 240 images at batch 16: 15 iterations per epoch; 14 + 6 epochs
    assert ts.iterations(cfgs['byol_short'], 240) == 210
    assert ts.iterations(stage, 240) == 90
    assert ts.iterations(cfgs['soco'], 241) == 300  # drop_last: 241 // 16
    stages = {k: cfgs[k] for k in ('byol_short', 'byol_soco_frozen')}
    assert ts.check_warm_budget(stages, cfgs['soco'], 240) == 300


def test_a_warm_start_off_the_budget_is_refused():
    cfgs = _warm_cfgs()
    cfgs['byol_soco_frozen'].train_cfg.max_epochs = 7  # 14 + 7 epochs
    stages = {k: cfgs[k] for k in ('byol_short', 'byol_soco_frozen')}
    with pytest.raises(
            ValueError,
            match=r'byol_short 210 \+ '
            r'byol_soco_frozen 105 = 315 iterations, soco 300'):
        ts.check_warm_budget(stages, cfgs['soco'], 240)
    cfgs = _warm_cfgs()
    cfgs['byol_short'].train_dataloader.batch_size = 8
    stages = {k: cfgs[k] for k in ('byol_short', 'byol_soco_frozen')}
    with pytest.raises(
            ValueError,
            match=r"byol_short differs from soco in "
            r"\['batch_size'\]"):
        ts.check_warm_budget(stages, cfgs['soco'], 240)


def test_finetune_config_points_at_the_split_and_init():
    from mmengine.config import Config
    cfg = ts.finetune_cfg_changes(
        Config.fromfile(ts.DET_CONFIG), '/tmp/d', '/w/labeled_train.json', 40,
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


def test_study_params_may_only_grow_their_seeds_and_inits():
    recorded = dict(num_labeled=60, img_scale=320, seeds=[0, 1])
    ts.check_study_params(recorded, dict(recorded, seeds=[0, 1, 2, 3]))
    with pytest.raises(ValueError, match='num_labeled: 60 there, 0 now'):
        ts.check_study_params(recorded, dict(recorded, num_labeled=0))
    # a study recorded before the warm starts grows them ...
    ts.check_study_params(recorded, dict(recorded, warm_byol_epochs=14))
    # ... but once recorded their split may not change
    with pytest.raises(ValueError, match='warm_byol_epochs: 14 there, 10'):
        ts.check_study_params(
            dict(recorded, warm_byol_epochs=14),
            dict(recorded, warm_byol_epochs=10))

"""The design of the demo transfer study, as pure functions: which runs there
are, in which order, with which configs (``transfer_demo.py`` runs them,
``transfer_report.py`` reports them).

Four initialisations of the same Mask R-CNN R18-FPN: ``scratch`` (nothing
transferred), ``byol`` (backbone), ``soco_fast`` and ``soco`` (backbone, FPN
and box-head trunk; SoCo with the fast and with the reference head batching,
docs/reference_parity.md). Every pretrained init is pretrained once per
pretraining seed; fine-tuning seed ``s`` starts from the checkpoints of
pretraining seed ``pretrain_seeds[s % len(pretrain_seeds)]``, so with seeds
0 1 2 3 and pretraining seeds 0 1, fine-tunings 0 and 2 start from the seed-0
pretrainings and 1 and 3 from the seed-1 ones. The four inits of one
fine-tuning seed share that seed (non-transferred weights, data order,
flips) and, where pretrained, the pretraining seed: they are paired.
"""
import json
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Pretrained inits and their pretraining configs (the same budget: checked).
PRETRAIN_CONFIGS = {
    'soco': osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py'),
    'soco_fast': osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo_fast.py'),
    'byol': osp.join(REPO, 'configs', 'baselines', 'byol_r18_demo.py'),
}
DET_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                      'mask-rcnn_r18-fpn_demo.py')
#: Every init, in the order of the tables (least to most transferred).
INITS = ('scratch', 'byol', 'soco_fast', 'soco')
#: Fine-tunings of one seed in the order they are started: the two SoCo
#: batchings first (with two jobs at a time they run side by side).
FINETUNE_ORDER = ('soco', 'soco_fast', 'byol', 'scratch')
#: Study parameters that must not change inside one study (records).
STUDY_KEYS = ('num_images', 'pretrain_epochs', 'pretrain_seeds',
              'finetune_iters', 'num_labeled', 'split_seed', 'img_scale')


class PretrainRun(NamedTuple):
    """One pretraining: ``init`` (a key of PRETRAIN_CONFIGS) at ``seed``."""
    init: str
    seed: int

    @property
    def name(self) -> str:
        return f'pretrain_{self.init}_p{self.seed}'


class FinetuneRun(NamedTuple):
    """One fine-tuning of ``init`` with fine-tuning seed ``seed``, from the
    pretraining of ``pretrain_seed`` (None for scratch)."""
    init: str
    seed: int
    pretrain_seed: Optional[int]

    @property
    def name(self) -> str:
        if self.pretrain_seed is None:
            return f'finetune_{self.init}_s{self.seed}'
        return f'finetune_{self.init}_p{self.pretrain_seed}_s{self.seed}'

    @property
    def pretraining(self) -> Optional[PretrainRun]:
        if self.pretrain_seed is None:
            return None
        return PretrainRun(self.init, self.pretrain_seed)


def pretrain_seed_of(seed: int, pretrain_seeds: Sequence[int]) -> int:
    """The pretraining seed fine-tuning seed ``seed`` starts from."""
    return pretrain_seeds[seed % len(pretrain_seeds)]


def study_plan(pretrain_seeds: Sequence[int],
               seeds: Sequence[int]) -> List[NamedTuple]:
    """Every run of the study in the order to start them: per pretraining
    seed, its pretrainings, then the fine-tunings that start from them (per
    fine-tuning seed, in FINETUNE_ORDER), then the block's scratch
    fine-tunings. Blocks stay whole, so a stopped study has finished whole
    paired seeds rather than one init's runs; inside a block the runs that
    need its pretrained checkpoints go first, because a study resumed on a
    machine that lost its work directory must recompute a block's
    pretrainings for any of them still to run (scratch needs none)."""
    runs = []
    for pretrain_seed in pretrain_seeds:
        runs += [PretrainRun(init, pretrain_seed) for init in PRETRAIN_CONFIGS]
        block = [
            seed for seed in seeds
            if pretrain_seed_of(seed, pretrain_seeds) == pretrain_seed
        ]
        runs += [
            FinetuneRun(init, seed, pretrain_seed) for seed in block
            for init in FINETUNE_ORDER if init != 'scratch'
        ]
        runs += [FinetuneRun('scratch', seed, None) for seed in block]
    return runs


def labeled_subset(coco, num_images, seed):
    """The COCO dict restricted to ``num_images`` images drawn with ``seed``
    (all of them when ``num_images`` is 0), annotations following."""
    import numpy as np
    images = sorted(coco['images'], key=lambda img: img['id'])
    if num_images > len(images):
        raise ValueError(f'--num-labeled {num_images}: the train split has '
                         f'only {len(images)} images')
    if num_images and num_images < len(images):
        picked = np.random.default_rng(seed).choice(
            len(images), size=num_images, replace=False)
        images = [images[i] for i in sorted(picked)]
    ids = {img['id'] for img in images}
    return dict(
        coco,
        images=images,
        annotations=[a for a in coco['annotations'] if a['image_id'] in ids])


def pretrain_cfg_changes(cfg, data_root, epochs, seed):
    """Point a demo pretraining config at ``data_root`` and give it
    ``epochs`` epochs (warm-up a tenth, then cosine), one checkpoint at the
    end. Mutates and returns ``cfg`` (an mmengine Config or dict)."""
    data_root = data_root.rstrip('/') + '/'
    warmup = max(1, epochs // 10)
    cfg['data_root'] = data_root  # only read at parse time; kept truthful
    dataset = cfg['train_dataloader']['dataset']
    dataset['data_root'] = data_root
    for step in dataset['pipeline']:
        if step.get('cache_dir') is not None:  # proposals cached per dataset
            step['cache_dir'] = data_root + 'proposal_cache'
    cfg['train_cfg'] = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg['param_scheduler'] = [
        dict(
            type='LinearLR',
            start_factor=0.01,
            by_epoch=True,
            begin=0,
            end=warmup,
            convert_to_iter_based=True),
        dict(
            type='CosineAnnealingLR',
            T_max=max(1, epochs - warmup),
            eta_min=1e-6,
            by_epoch=True,
            begin=warmup,
            end=epochs,
            convert_to_iter_based=True)
    ]
    cfg['default_hooks']['checkpoint'].update(
        interval=epochs, max_keep_ckpts=1)
    cfg['randomness'] = dict(seed=seed)
    return cfg


def pretrain_budget(cfg):
    """What must be equal for two pretrainings to have the same budget:
    images, views (the whole pipeline), batch size, optimiser, schedule."""
    loader = cfg['train_dataloader']
    return dict(
        dataset=loader['dataset'],
        batch_size=loader['batch_size'],
        drop_last=loader.get('drop_last'),
        sampler=loader.get('sampler'),
        train_cfg=cfg['train_cfg'],
        param_scheduler=cfg['param_scheduler'],
        optim_wrapper=cfg['optim_wrapper'])


def check_same_budget(cfgs):
    """Raise unless every pretraining config has the same budget; return
    it."""
    budgets = {name: plain(pretrain_budget(cfg)) for name, cfg in cfgs.items()}
    first, *others = budgets
    for name in others:
        diff = [
            k for k in budgets[first] if budgets[first][k] != budgets[name][k]
        ]
        if diff:
            raise ValueError(f'{first} and {name} pretrainings differ in '
                             f'{diff}: not the same budget')
    return budgets[first]


def finetune_cfg_changes(cfg, data_root, train_ann, iters, img_scale, seed,
                         load_from):
    """Point the demo detector config at ``data_root`` / the labeled split
    ``train_ann``, iteration-based for ``iters`` iterations (linear warm-up,
    x0.1 at 3/4), images resized to ``img_scale``, one evaluation at the end.
    Mutates and returns ``cfg``."""
    data_root = data_root.rstrip('/') + '/'
    val_ann = data_root + 'annotations/instances_val.json'
    cfg['data_root'] = data_root  # only read at parse time; kept truthful
    train = cfg['train_dataloader']
    train['dataset'].update(data_root=data_root, ann_file=train_ann)
    train['sampler'] = dict(type='InfiniteSampler', shuffle=True)
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader]['dataset'].update(data_root=data_root, ann_file=val_ann)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader]['dataset']['pipeline']:
            if step['type'] == 'Resize':
                step['scale'] = (img_scale, img_scale)
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].update(ann_file=val_ann, metric=['bbox', 'segm'])
    cfg['train_cfg'] = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg['param_scheduler'] = [
        dict(
            type='LinearLR',
            start_factor=0.001,
            by_epoch=False,
            begin=0,
            end=min(50, iters)),
        dict(
            type='MultiStepLR',
            by_epoch=False,
            begin=0,
            end=iters,
            milestones=[max(1, int(iters * 0.75))],
            gamma=0.1)
    ]
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', by_epoch=False, interval=iters)
    cfg['default_hooks']['logger'] = dict(type='LoggerHook', interval=20)
    cfg['log_processor'] = dict(type='LogProcessor', by_epoch=False)
    cfg['randomness'] = dict(seed=seed)
    cfg['load_from'] = load_from
    return cfg


def check_study_params(recorded, current):
    """Raise when the recorded study parameters differ from the current
    ones, except ``seeds``, which may grow (more paired seeds)."""
    diff = {
        k: (recorded.get(k), current[k])
        for k in current if k != 'seeds' and recorded.get(k) != current[k]
    }
    if diff:
        raise ValueError('the record dir holds a study with other parameters '
                         '(' + ', '.join(f'{k}: {a!r} there, {b!r} now'
                                         for k, (a, b) in diff.items()) +
                         '); use another --record-dir and --work-dir')


def plain(obj):
    """Config objects -> plain dicts / lists (tuples as lists) for ==."""
    return json.loads(
        json.dumps(
            obj.to_dict() if hasattr(obj, 'to_dict') else obj, default=list))

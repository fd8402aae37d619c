"""The design of the demo transfer study, as pure functions: which runs there
are, in which order, with which configs (``transfer_demo.py`` runs them,
``transfer_report.py`` reports them).

Six initialisations of the same Mask R-CNN R18-FPN: ``scratch`` (nothing
transferred), ``byol`` (backbone), ``soco_fast`` and ``soco`` (backbone, FPN
and box-head trunk; SoCo with the fast and with the reference head batching,
docs/reference_parity.md), and two warm starts (docs/method.md section 4.5):
``byol_soco``, a BYOL stage (``byol_short``) followed by a SoCo stage
(reference batching) started from BYOL's online backbone, and
``byol_soco_frozen``, the same with the backbone frozen in the SoCo stage.
Both warm starts share their pretraining seed's BYOL stage; their two stages
together have the budget of ``soco`` (same iterations at the same batch,
data and optimiser: checked). Every pretrained init is pretrained once per
pretraining seed; fine-tuning seed ``s`` starts from the checkpoints of
pretraining seed ``pretrain_seeds[s % len(pretrain_seeds)]``, so with seeds
0 1 2 3 and pretraining seeds 0 1, fine-tunings 0 and 2 start from the seed-0
pretrainings and 1 and 3 from the seed-1 ones. The inits of one fine-tuning
seed share that seed (non-transferred weights, data order, flips) and, where
pretrained, the pretraining seed: they are paired.
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
#: The first stage of the warm starts: BYOL (PRETRAIN_CONFIGS['byol']) for
#: ``warm_byol_epochs``; not an init of its own (never fine-tuned).
BYOL_STAGE = 'byol_short'
#: Warm starts: the SoCo stage (PRETRAIN_CONFIGS['soco'], the reference
#: batching) for the rest of the epochs, its backbone loaded from the BYOL
#: stage's online network; frozen_stages=4 freezes all of ResNet-18.
WARM_INITS = {
    'byol_soco': dict(frozen_stages=-1),
    'byol_soco_frozen': dict(frozen_stages=4)
}
#: Every pretraining of one pretraining seed, in the order they run.
PRETRAININGS = tuple(PRETRAIN_CONFIGS) + (BYOL_STAGE, ) + tuple(WARM_INITS)
#: Every init, in the order of the tables (least to most transferred).
INITS = ('scratch', 'byol', 'soco_fast', 'soco', 'byol_soco_frozen',
         'byol_soco')
#: Fine-tunings of one seed in the order they are started: the two SoCo
#: batchings first, the two warm starts next (with two jobs at a time they
#: run side by side).
FINETUNE_ORDER = ('soco', 'soco_fast', 'byol', 'byol_soco', 'byol_soco_frozen',
                  'scratch')
#: Study parameters that must not change inside one study (records).
STUDY_KEYS = ('num_images', 'pretrain_epochs', 'pretrain_seeds',
              'finetune_iters', 'num_labeled', 'split_seed', 'img_scale',
              'warm_byol_epochs')
#: Parameters a study recorded before they existed may lack: the study then
#: grows the runs they govern (the warm starts), as it grows its seeds.
ADDED_KEYS = ('warm_byol_epochs', )


class PretrainRun(NamedTuple):
    """One pretraining: ``init`` (a key of PRETRAIN_CONFIGS) at ``seed``."""
    init: str
    seed: int

    @property
    def name(self) -> str:
        return f'pretrain_{self.init}_p{self.seed}'

    @property
    def first_stage(self) -> Optional['PretrainRun']:
        """The BYOL stage a warm start's SoCo stage starts from."""
        if self.init not in WARM_INITS:
            return None
        return PretrainRun(BYOL_STAGE, self.seed)


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
        runs += [PretrainRun(init, pretrain_seed) for init in PRETRAININGS]
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


def pretrain_epochs_of(init, pretrain_epochs, warm_byol_epochs):
    """Epochs of pretraining ``init`` (a key of PRETRAININGS): the BYOL
    stage ``warm_byol_epochs``, a SoCo stage the rest, others all."""
    if init == BYOL_STAGE:
        return warm_byol_epochs
    if init in WARM_INITS:
        return pretrain_epochs - warm_byol_epochs
    return pretrain_epochs


def base_config_of(init):
    """The demo config a pretraining starts from."""
    if init == BYOL_STAGE:
        return PRETRAIN_CONFIGS['byol']
    if init in WARM_INITS:
        return PRETRAIN_CONFIGS['soco']
    return PRETRAIN_CONFIGS[init]


def product_file(work_dir, run):
    """What a pretraining hands on: the detector weights of an init, the
    BYOL checkpoint (its state dict) of the BYOL stage."""
    if run.init == BYOL_STAGE:
        return osp.join(work_dir, run.name + '_byol.pth')
    return osp.join(work_dir, run.name + '_mmdet.pth')


def warm_stage_changes(cfg, init, byol_checkpoint):
    """Make the (already scheduled) SoCo config of warm init ``init`` start
    from the BYOL stage's online backbone (``PretrainedBackbone``), its
    backbone frozen or not as WARM_INITS says; FPN, head, projector and
    predictor keep the recipe's initialisation. Mutates and returns ``cfg``.
    """
    cfg['model']['init_cfg'] = dict(
        type='PretrainedBackbone',
        checkpoint=byol_checkpoint,
        layout='mmsoco_online')
    cfg['model']['backbone']['frozen_stages'] = \
        WARM_INITS[init]['frozen_stages']
    return cfg


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
        # the recipes' warm-up (the reference's: full lr at the warm-up's end)
        dict(
            type='mmsoco.LinearWarmupLR',
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


def iterations(cfg, num_train):
    """Training iterations of an epoch-based pretraining config over
    ``num_train`` images."""
    loader = cfg['train_dataloader']
    batch = loader['batch_size']
    per_epoch = num_train // batch if loader.get('drop_last') else \
        -(-num_train // batch)
    return cfg['train_cfg']['max_epochs'] * per_epoch


#: What every stage of a warm start shares with the reference pretraining.
STAGE_BUDGET_KEYS = ('dataset', 'batch_size', 'drop_last', 'sampler',
                     'optim_wrapper')


def check_warm_budget(stages, reference, num_train):
    """Raise unless a warm start's ``stages`` (``{name: cfg}``) together
    have the budget of the ``reference`` pretraining (soco): every stage the
    same images, views, batch size and optimiser, and the same number of
    iterations in all; return that number."""
    ref = plain(pretrain_budget(reference))
    for name, cfg in stages.items():
        budget = plain(pretrain_budget(cfg))
        diff = [k for k in STAGE_BUDGET_KEYS if budget[k] != ref[k]]
        if diff:
            raise ValueError(f'warm-start stage {name} differs from soco in '
                             f'{diff}: not the same budget')
    counts = {name: iterations(cfg, num_train) for name, cfg in stages.items()}
    total, expected = sum(counts.values()), iterations(reference, num_train)
    if total != expected:
        raise ValueError(
            ' + '.join(f'{name} {n}' for name, n in counts.items()) +
            f' = {total} iterations, soco {expected}: not the same budget')
    return total


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
        # detectron2's warm-up, as the fine-tuning recipes (sgd_90k.py)
        dict(
            type='mmsoco.LinearWarmupLR',
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
    ones, except ``seeds``, which may grow (more paired seeds), and an
    ADDED_KEYS parameter the record does not have yet (more inits)."""
    diff = {
        k: (recorded.get(k), current[k])
        for k in current if k != 'seeds' and recorded.get(k) != current[k]
        and not (k in ADDED_KEYS and k not in recorded)
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

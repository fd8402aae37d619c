"""A small CPU transfer study on the demo data (``docs/method.md`` section 5.3, in
miniature): scratch vs BYOL vs SoCo initialisation of the same detector.

1. pretrain SoCo (configs/soco/soco_r18fpn_demo.py) and BYOL
   (configs/baselines/byol_r18_demo.py) once each, on the same unlabeled
   images (the demo train split) for the same budget (epochs, batch size,
   views, optimiser and schedule; checked before anything runs);
2. convert them for the detector: SoCo with ``convert_to_mmdet`` (backbone,
   FPN and box-head trunk), BYOL with ``extract_backbone`` (its only
   transferable part), each checked against the detector's tensor shapes;
3. fine-tune configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py from scratch,
   from BYOL and from SoCo on a small labeled split (by default 60 of the 240
   train images, a seeded subset fixed across runs: labels scarce, unlabeled
   images four times as many, the setting pretraining is meant for; chosen
   before any result), with the same schedule, once per fine-tuning seed,
   and evaluate COCO box AP on the demo val split;
4. report mean and spread over the seeds per initialisation (and, with
   ``--write-readme``, in benchmarks/README.md).

Each stage runs tools/train.py in a subprocess (a fresh Runner each) and is
resumable: a stage whose result file exists is not run again. The study's
parameters are recorded in ``WORK_DIR/study.json``; rerunning the same work
dir with different ones is refused (the old results would be mixed in),
except for ``--seeds``, which may grow.

    python benchmarks/transfer_demo.py --seeds 0 1 2 --write-readme

The default run (300 images, 20 pretraining epochs = 300 iterations per
method, 300 fine-tuning iterations x 3 inits x 3 seeds) takes about 45 min
on 2 quiet CPU cores (measured, early iterations, load average < 1: SoCo
pretraining 0.9 s per iteration, fine-tuning 0.7 s; so ~5 + ~4 min of
pretraining and ~4 min per fine-tuning run with its evaluation, 9 runs).
The time scales badly with other jobs on the cores: at load average ~4 the
same steps took 7-10 s (SoCo), 5 s (BYOL) and 5.4-7 s (fine-tuning) per
iteration, which would make it ~6 hours. Being resumable, it can be run in
parts: e.g. ``--seeds 0`` first, then ``--seeds 0 1 2``.

Measured (both studies in benchmarks/README.md): the default run, resumed
after two seeds, finished its last 3 fine-tunings in 885 s; the second
study (``--finetune-iters 1000 --seeds 0 1``, pretrainings reused) took
5203 s for its 6 fine-tunings (0.8-0.9 s per iteration, load average < 1).

A second study with other parameters (say a longer fine-tuning) needs its
own ``--work-dir``; ``--readme-tag TAG`` then writes its README section
beside the default study's instead of over it. Its pretrainings are the
default's when the pretraining parameters match: copy (or link) the
``pretrain_*`` folders and ``*_mmdet.pth`` into the new work dir to skip
recomputing them.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN_CONFIGS = {
    'soco': osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py'),
    'byol': osp.join(REPO, 'configs', 'baselines', 'byol_r18_demo.py'),
}
DET_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                      'mask-rcnn_r18-fpn_demo.py')
README = osp.join(REPO, 'benchmarks', 'README.md')
BEGIN, END = '<!-- transfer_demo:begin -->', '<!-- transfer_demo:end -->'


def markers(tag=''):
    """The README markers of a study's section: the default study's
    (``BEGIN``, ``END``) or, with ``--readme-tag TAG``, its own pair, so that
    a second study (e.g. a longer fine-tuning) is reported beside the first
    instead of replacing it."""
    if not tag:
        return BEGIN, END
    return (f'<!-- transfer_demo:{tag}:begin -->',
            f'<!-- transfer_demo:{tag}:end -->')


DEFAULT_WORK_DIR = 'work_dirs/transfer_demo'
#: Initialisations in the order of the paper's claim (worst to best).
INITS = ('scratch', 'byol', 'soco')
#: (logged key, column name) of the metrics reported.
METRICS = (('coco/bbox_mAP', 'bbox mAP'), ('coco/bbox_mAP_50', 'bbox AP50'),
           ('coco/segm_mAP', 'segm mAP'))
#: A second, evaluation-free measure of transfer: the mean logged training
#: loss of the fine-tuning over its last quarter (after the lr step), i.e.
#: how far each init gets in fitting the labeled split for the same budget.
#: Lower is better; it is reported beside AP, never instead of it.
TRAIN_LOSS = ('final_train_loss', 'train loss, last 1/4')
FINAL_LOSS_FRACTION = 0.25
#: Study parameters that must not change inside one work dir.
STUDY_KEYS = ('data_root', 'num_images', 'pretrain_epochs', 'pretrain_seed',
              'finetune_iters', 'num_labeled', 'split_seed', 'img_scale')
#: Below these lengths the numbers mean nothing: the README says so.
REAL_MIN_PRETRAIN_EPOCHS, REAL_MIN_FINETUNE_ITERS = 10, 100
DEFAULT_COMMAND = ('.venv/bin/python benchmarks/transfer_demo.py '
                   '--seeds 0 1 2 --write-readme')


def parse_args(argv=None):
    from mmsoco.utils.progress import add_quiet_argument
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default=DEFAULT_WORK_DIR)
    parser.add_argument(
        '--data-root',
        default=None,
        help='demo dataset folder (default: '
        'mmsoco.datasets.demo.default_demo_dir(), i.e. '
        'data/demo); generated there when missing, and '
        'REGENERATED when it was made with another '
        '--num-images')
    parser.add_argument(
        '--num-images',
        type=int,
        default=300,
        help='demo images (80%% train, 20%% val)')
    parser.add_argument('--pretrain-epochs', type=int, default=20)
    parser.add_argument('--pretrain-seed', type=int, default=0)
    parser.add_argument('--finetune-iters', type=int, default=300)
    parser.add_argument(
        '--num-labeled',
        type=int,
        default=60,
        help='labeled train images for fine-tuning, a seeded '
        'subset of the train split (0: the whole split)')
    parser.add_argument(
        '--split-seed',
        type=int,
        default=0,
        help='seed of the labeled subset (one subset for all '
        'fine-tuning seeds)')
    parser.add_argument('--img-scale', type=int, default=320)
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0, 1, 2],
        help='fine-tuning seeds')
    parser.add_argument(
        '--note',
        default=None,
        help='markdown file put under the table in the '
        'README (the discussion of the result)')
    parser.add_argument('--write-readme', action='store_true')
    add_quiet_argument(parser)
    parser.add_argument(
        '--readme-tag',
        default='',
        help='write the README section between this tag\'s '
        'own markers (<!-- transfer_demo:TAG:begin/end -->) '
        'instead of the default study\'s')
    args = parser.parse_args(argv)
    if args.readme_tag and not re.fullmatch(r'[\w.-]+', args.readme_tag):
        parser.error(f'--readme-tag {args.readme_tag!r}: use letters, '
                     'digits, "_", "-" or "."')
    if args.pretrain_epochs < 2:
        parser.error('--pretrain-epochs must be >= 2 (warm-up + cosine)')
    if args.finetune_iters < 1:
        parser.error('--finetune-iters must be >= 1')
    if args.num_labeled < 0:
        parser.error('--num-labeled must be >= 0')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds repeats a seed: {args.seeds}')
    if args.note is not None and not osp.isfile(args.note):
        parser.error(f'--note {args.note}: no such file')
    return args


# ---------------------------------------------------------------------------
# Pure parts: labeled split, configs, budget check, aggregation, report.
# ---------------------------------------------------------------------------
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
    """Raise unless every pretraining config has the same budget."""
    budgets = {
        name: _plain(pretrain_budget(cfg))
        for name, cfg in cfgs.items()
    }
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


def summarize(per_seed):
    """``{init: [metrics of one seed, ...]}`` -> ``{init: {key: stats}}``
    with stats ``dict(mean, std, min, max, n)`` over the seeds; ``std`` is the
    sample standard deviation (n - 1), NaN for a single seed."""
    summary = {}
    for init, rows in per_seed.items():
        summary[init] = {}
        for key, _ in METRICS + (TRAIN_LOSS, ):
            values = [float(row[key]) for row in rows if key in row]
            n = len(values)
            if not n:
                continue
            mean = sum(values) / n
            std = math.sqrt(sum(
                (v - mean)**2
                for v in values) / (n - 1)) if n > 1 else float('nan')
            summary[init][key] = dict(
                mean=mean, std=std, min=min(values), max=max(values), n=n)
    return summary


def ordering(summary, key='coco/bbox_mAP'):
    """Inits sorted by mean ``key``, best first, and whether each step of
    that order is separated: the better init's worst seed above the worse
    init's best seed."""
    ranked = sorted((i for i in summary if key in summary[i]),
                    key=lambda i: -summary[i][key]['mean'])
    separated = [
        summary[a][key]['min'] > summary[b][key]['max']
        for a, b in zip(ranked, ranked[1:])
    ]
    return ranked, separated


def _cell(stats, scale=100, digits=1):

    def num(value):
        return f'{scale * value:.{digits}f}'

    if stats['n'] == 1:
        return num(stats['mean'])
    return (f'{num(stats["mean"])} ± {num(stats["std"])} '
            f'({num(stats["min"])}–{num(stats["max"])})')


def format_table(summary):
    """Markdown table: one row per init, mean ± std (min–max), AP in points,
    then the final fine-tuning loss (:data:`TRAIN_LOSS`) where known."""
    columns = [(key, name, dict()) for key, name in METRICS]
    if any(TRAIN_LOSS[0] in stats for stats in summary.values()):
        columns.append((*TRAIN_LOSS, dict(scale=1, digits=3)))
    lines = [
        '| init | seeds | ' + ' | '.join(c for _, c, _ in columns) + ' |',
        '|---|---|' + '---|' * len(columns)
    ]
    for init in INITS:
        if init not in summary:
            continue
        n = max(s['n'] for s in summary[init].values())
        lines.append(f'| {init} | {n} | ' + ' | '.join(
            _cell(summary[init][k], **fmt) if k in summary[init] else '-'
            for k, _, fmt in columns) + ' |')
    return '\n'.join(lines)


def command_line(args):
    """The command that reproduces this run."""
    parts = ['.venv/bin/python benchmarks/transfer_demo.py']
    if args.work_dir != DEFAULT_WORK_DIR:
        parts.append(f'--work-dir {args.work_dir}')  # one study per dir
    if args.data_root_given:
        parts.append(f'--data-root {args.data_root}')
    parts += [
        f'--num-images {args.num_images}',
        f'--pretrain-epochs {args.pretrain_epochs}',
        f'--finetune-iters {args.finetune_iters}',
        f'--num-labeled {args.num_labeled}', f'--img-scale {args.img_scale}',
        '--seeds ' + ' '.join(str(s) for s in args.seeds), '--write-readme'
    ]
    if args.readme_tag:
        parts.append(f'--readme-tag {args.readme_tag}')
    return ' '.join(parts)


def is_plumbing_check(args):
    return (args.pretrain_epochs < REAL_MIN_PRETRAIN_EPOCHS
            or args.finetune_iters < REAL_MIN_FINETUNE_ITERS)


def format_section(summary, args, facts, note=None, no_detections=None):
    """The README section: setup, command, table, observed ordering;
    ``no_detections``: :func:`count_no_detections` of the runs."""
    labeled = (f'{args.num_labeled} of the {facts["num_train"]} demo train '
               f'images ({facts["num_labeled_objects"]} objects), drawn with '
               f'seed {args.split_seed}, the same subset for every run'
               if args.num_labeled else
               f'all {facts["num_train"]} demo train images')
    seeds = ' '.join(str(s) for s in args.seeds)
    lines = [
        '## Transfer on the demo data' +
        (f', {args.finetune_iters} fine-tuning iterations'
         if args.readme_tag else '') + ' (`benchmarks/transfer_demo.py`)',
        '',
        f'Command: `{command_line(args)}`',
        '',
        f'- Data: `make_demo_dataset(num_images={args.num_images}, seed=0)`:'
        f' {facts["num_train"]} train / {facts["num_val"]} val images.',
        f'- Pretraining, once per method (seed {args.pretrain_seed}), on the '
        f'{facts["num_train"]} train images without labels, with the same '
        f'budget: {args.pretrain_epochs} epochs at batch '
        f'{facts["batch_size"]} ({facts["pretrain_iters"]} iterations), the '
        'same views (112/112/64, SoCo\'s box pipeline) and LARS schedule. '
        'SoCo: soco_r18fpn_demo.py (ResNet-18 + FPN + 4conv1fc); BYOL: '
        'byol_r18_demo.py (the same ResNet-18, image-level).',
        '- What transfers: SoCo backbone + FPN + box-head trunk '
        '(`convert_to_mmdet`); BYOL the backbone only (`extract_backbone`, '
        'all it has); scratch nothing (mmdet default init).',
        '- Fine-tuning: Mask R-CNN R18-FPN (mask-rcnn_r18-fpn_demo.py, plain '
        f'BN), {args.finetune_iters} iterations at batch 2 (lr 0.0025, '
        f'linear warm-up, x0.1 at 3/4), images at {args.img_scale} px, on '
        f'{labeled}; evaluated on the {facts["num_val"]} val images.',
        f'- Fine-tuning seeds {seeds}, the same for every init (they set the '
        'non-transferred weights, data order and flips).',
        '',
    ]
    if is_plumbing_check(args):
        lines += [
            '**Plumbing check only** (pretrain x2 -> convert -> fine-tune x3 '
            'inits x seeds -> evaluate -> aggregate ran end to end); at this '
            'length the numbers mean nothing and say nothing about the '
            'ordering. The study proper is the default command, not yet run: '
            f'`{DEFAULT_COMMAND}` (300 images, 20 pretraining epochs, 300 '
            'fine-tuning iterations, 60 labeled images, seeds 0 1 2; about '
            '45 min on 2 quiet CPU cores, hours under load: see the '
            'script\'s docstring).', ''
        ]
    lines += [
        'Mean ± sample std (min–max) over the fine-tuning seeds; AP in '
        'points; "train loss" is the mean logged fine-tuning loss over '
        'the last quarter of the iterations (after the lr step; lower: '
        'the detector fits its labeled split further in the same '
        'budget):', '',
        format_table(summary), ''
    ]
    if no_detections:
        lines += [
            'Runs that kept no detection above the score threshold on '
            'the whole val split (AP 0 by definition, counted as 0 '
            'above): ' + ', '.join(f'{init} {n} of {len(args.seeds)}'
                                   for init, n in no_detections.items()) + '.',
            ''
        ]
    if not is_plumbing_check(args):
        ranked, separated = ordering(summary)
        observed = ranked[0] + ''.join(
            (' > ' if sep else ' ≳ ') + b
            for b, sep in zip(ranked[1:], separated))
        matches = ranked == ['soco', 'byol', 'scratch']
        lines += [
            f'Observed ordering by mean bbox mAP: {observed}' +
            ('' if all(separated) else ' ("≳": the seed ranges overlap, '
             'so the step is not resolved)') + '. The paper\'s '
            'ordering is soco > byol > scratch: ' +
            ('the means follow it' +
             (', every step separated.'
              if all(separated) else ', but not every step is separated '
              'beyond the seed spread.')
             if matches else 'this study does NOT show it.' +
             ('' if note else ' Why is not discussed yet (add it with '
              '`--note FILE`).')), ''
        ]
    if note:
        lines += [note.strip(), '']
    return '\n'.join(lines).rstrip('\n')


def replace_section(text, body, tag=''):
    """``text`` with the body of the transfer_demo section of ``tag`` (see
    :func:`markers`) replaced by ``body`` (appended when its markers are
    missing); the rest is kept byte for byte."""
    begin, end = markers(tag)
    block = f'{begin}\n{body}\n{end}'
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    if begin in text or end in text:
        raise ValueError(f'{README}: only one of {begin} / {end} present')
    return text.rstrip('\n') + '\n\n' + block + '\n'


def check_study_params(recorded, current):
    """Raise when the work dir's recorded study parameters differ."""
    diff = {
        k: (recorded.get(k), current[k])
        for k in current if recorded.get(k) != current[k]
    }
    if diff:
        raise ValueError('the work dir holds a study with other parameters (' +
                         ', '.join(f'{k}: {a!r} there, {b!r} now'
                                   for k, (a, b) in diff.items()) +
                         '); use another --work-dir')


def _plain(obj):
    """Config objects -> plain dicts / lists (tuples as lists) for ==."""
    return json.loads(
        json.dumps(
            obj.to_dict() if hasattr(obj, 'to_dict') else obj, default=list))


# ---------------------------------------------------------------------------
# Stages (side effects).
# ---------------------------------------------------------------------------
def _write(path, text):
    from mmsoco.utils.atomic_files import atomic_write_text
    atomic_write_text(path, text)


def _dump_config(cfg, path):
    from mmsoco.utils.atomic_files import atomic_write_text
    atomic_write_text(path, cfg.pretty_text)  # what Config.dump writes
    return path


def run_train(config, work_dir):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir
    ]
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, env=env)


def _logged_rows(work_dir):
    """Every row mmengine logged for the run in ``work_dir`` (its
    ``*/vis_data/scalars.json``, one per launch of the run, in order)."""
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                yield json.loads(line)


#: mmdet's CocoMetric logs this (and returns no metrics) when the detector
#: kept no box above its score threshold on the whole val split.
EMPTY_RESULTS_MESSAGE = 'The testing results of the whole dataset is empty'


def no_detection_metrics():
    """The metrics of a run that detected nothing: AP 0 by definition (no
    true positives), flagged so the report can count such runs."""
    return dict({key: 0.0 for key, _ in METRICS}, no_detections=True)


def last_metrics(work_dir):
    """The last logged line holding COCO metrics (mmengine scalars.json);
    :func:`no_detection_metrics` when the evaluation ran and found no
    detection at all (mmdet's message in the run's log), else an error."""
    found = None
    for row in _logged_rows(work_dir):
        if 'coco/bbox_mAP' in row:
            found = row
    if found is not None:
        return found
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    if logs and EMPTY_RESULTS_MESSAGE in open(logs[-1]).read():
        print(
            f'{work_dir}: no detection on the val split, AP counted as 0',
            flush=True)
        return no_detection_metrics()
    raise RuntimeError(f'no COCO metrics logged under {work_dir}')


def final_train_loss(work_dir, iters, fraction=FINAL_LOSS_FRACTION):
    """Mean logged training ``loss`` of the run in ``work_dir`` over its last
    ``fraction`` of ``iters`` iterations (None when nothing was logged
    there, e.g. a run shorter than the logging interval)."""
    first = iters - fraction * iters
    values = [
        float(row['loss']) for row in _logged_rows(work_dir)
        if 'loss' in row and row.get('step', 0) > first
    ]
    return sum(values) / len(values) if values else None


def count_no_detections(per_seed):
    """``{init: number of its runs that detected nothing}`` (non-zero only)."""
    counts = {
        init: sum(bool(row.get('no_detections')) for row in rows)
        for init, rows in per_seed.items()
    }
    return {init: n for init, n in counts.items() if n}


def prepare_labeled_split(data_root, work_dir, num_labeled, split_seed):
    src = osp.join(data_root, 'annotations', 'instances_train.json')
    with open(src) as f:
        coco = json.load(f)
    dst = osp.join(work_dir, 'labeled_train.json')
    if not osp.isfile(dst):
        _write(dst, json.dumps(labeled_subset(coco, num_labeled, split_seed)))
    with open(dst) as f:
        subset = json.load(f)
    return dst, dict(
        num_train=len(coco['images']),
        num_labeled_objects=len(subset['annotations']))


def pretrain(work_dir, data_root, args):
    """Both pretrainings (same budget, checked first) -> checkpoints."""
    from mmengine.config import Config

    from mmsoco.utils.progress import enabled_by, track
    cfgs = {
        name:
        pretrain_cfg_changes(
            Config.fromfile(path), data_root, args.pretrain_epochs,
            args.pretrain_seed)
        for name, path in PRETRAIN_CONFIGS.items()
    }
    budget = check_same_budget(cfgs)
    ckpts = {}
    for name, cfg in track(
            list(cfgs.items()),
            desc='pretraining',
            unit='run',
            enabled=enabled_by(args)):
        run_dir = osp.join(work_dir, f'pretrain_{name}')
        ckpts[name] = osp.join(run_dir, f'epoch_{args.pretrain_epochs}.pth')
        if not osp.isfile(ckpts[name]):
            run_train(
                _dump_config(cfg, osp.join(work_dir, f'pretrain_{name}.py')),
                run_dir)
    return ckpts, budget


def convert(work_dir, ckpts):
    """Pretraining checkpoints -> detector checkpoints for ``load_from``."""
    from mmsoco.converters import (check_against_destination, convert_to_mmdet,
                                   detector_destination_shapes,
                                   extract_backbone, load_state_dict,
                                   save_checkpoint_atomic)
    out = dict(
        soco=osp.join(work_dir, 'soco_mmdet.pth'),
        byol=osp.join(work_dir, 'byol_mmdet.pth'))
    if not osp.isfile(out['soco']):
        print(convert_to_mmdet(ckpts['soco'], out['soco'], config=DET_CONFIG))
    if not osp.isfile(out['byol']):
        backbone, counts = extract_backbone(load_state_dict(ckpts['byol']))
        converted = {'backbone.' + k: v for k, v in backbone.items()}
        destination = {
            k: v
            for k, v in detector_destination_shapes(DET_CONFIG).items()
            if k.startswith('backbone.')
        }
        check_against_destination(converted, destination)
        save_checkpoint_atomic(
            dict(
                meta=dict(
                    source=ckpts['byol'], converter='mmsoco extract_backbone'),
                state_dict=converted), out['byol'])
        print(f'BYOL backbone: {dict(counts)}; {len(destination)} detector '
              f'backbone tensors filled; wrote {out["byol"]}')
    return out


def finetune(work_dir, data_root, train_ann, inits, args):
    """One fine-tuning per (seed, init) -> ``{init: [metrics per seed]}``."""
    from mmengine.config import Config

    from mmsoco.utils.progress import enabled_by, track
    per_seed = {init: [] for init in inits}
    runs = [(seed, init, load_from) for seed in args.seeds
            for init, load_from in inits.items()]
    for seed, init, load_from in track(
            runs, desc='fine-tuning', unit='run', enabled=enabled_by(args)):
        name = f'{init}_seed{seed}'
        result_file = osp.join(work_dir, f'result_{name}.json')
        run_dir = osp.join(work_dir, f'finetune_{name}')
        if not osp.isfile(result_file):
            cfg = finetune_cfg_changes(
                Config.fromfile(DET_CONFIG), data_root, train_ann,
                args.finetune_iters, args.img_scale, seed, load_from)
            run_train(
                _dump_config(cfg, osp.join(work_dir, f'finetune_{name}.py')),
                run_dir)
            _write(
                result_file,
                json.dumps(dict(last_metrics(run_dir), init=init, seed=seed)))
        with open(result_file) as f:
            row = json.load(f)
        loss = final_train_loss(run_dir, args.finetune_iters)
        if loss is not None:
            row[TRAIN_LOSS[0]] = loss
        per_seed[init].append(row)
    return per_seed


def main(argv=None):
    args = parse_args(argv)
    from mmsoco.datasets.demo import default_demo_dir, ensure_demo_dataset
    args.data_root_given = args.data_root is not None
    data_root = osp.abspath(args.data_root or str(default_demo_dir()))
    args.data_root = args.data_root or osp.relpath(data_root, REPO)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)

    params = {k: getattr(args, k) for k in STUDY_KEYS}
    params['data_root'] = data_root
    params_file = osp.join(work_dir, 'study.json')
    if osp.isfile(params_file):
        with open(params_file) as f:
            check_study_params(json.load(f), params)
    else:
        _write(params_file, json.dumps(params, indent=1))

    start = time.perf_counter()
    ensure_demo_dataset(data_root, num_images=args.num_images, seed=0)
    with open(osp.join(data_root, 'annotations', 'instances_val.json')) as f:
        num_val = len(json.load(f)['images'])
    train_ann, facts = prepare_labeled_split(data_root, work_dir,
                                             args.num_labeled, args.split_seed)
    ckpts, budget = pretrain(work_dir, data_root, args)
    inits = dict(scratch=None, **convert(work_dir, ckpts))
    per_seed = finetune(work_dir, data_root, train_ann, inits, args)

    batch = budget['batch_size']
    facts.update(
        num_val=num_val,
        batch_size=batch,
        pretrain_iters=args.pretrain_epochs *
        (facts['num_train'] // batch))  # the loader drops the rest
    note = open(args.note).read() if args.note else None
    section = format_section(
        summarize(per_seed), args, facts, note, count_no_detections(per_seed))
    print(section)
    print(f'({time.perf_counter() - start:.0f} s this run)')
    if args.write_readme:
        text = open(README).read() if osp.isfile(README) else '# Benchmarks\n'
        _write(README, replace_section(text, section, args.readme_tag))


if __name__ == '__main__':
    main()

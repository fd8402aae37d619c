r"""A small CPU transfer study on the demo data (``docs/method.md`` section 5.3,
in miniature): scratch vs BYOL vs SoCo with the fast head batching vs SoCo
with the reference head batching vs two warm starts (BYOL, then SoCo from
BYOL's backbone, trainable or frozen; section 4.5), as initialisations of
the same detector.

1. pretrain SoCo (configs/soco/soco_r18fpn_demo.py, reference batching),
   SoCo fast (soco_r18fpn_demo_fast.py) and BYOL
   (configs/baselines/byol_r18_demo.py) on the same unlabeled images (the
   demo train split) with the same budget (epochs, batch size, views,
   optimiser, schedule; checked before anything runs), once per pretraining
   seed; and the warm starts: BYOL for ``--warm-byol-epochs``, then SoCo
   (reference batching) for the remaining epochs from BYOL's online
   backbone, with the backbone trainable (``byol_soco``) or frozen
   (``byol_soco_frozen``), the two stages together the budget of ``soco``
   (same iterations at the same batch, data and optimiser: checked);
2. convert each for the detector: SoCo with ``convert_to_mmdet`` (backbone,
   FPN, box-head trunk), BYOL with ``extract_backbone`` (its only
   transferable part), checked against the detector's tensor shapes;
3. fine-tune configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py from each
   init on a small labeled split (60 of the 240 train images, one seeded
   subset for every run), once per fine-tuning seed (paired across inits:
   see ``transfer_setup.py``), and evaluate COCO box and mask AP on the val
   split;
4. report (``transfer_report.py``, ``transfer_section.py``;
   ``--write-readme``: benchmarks/README.md).

Resumable (``transfer_study.py``): every finished run leaves a small JSON record in ``--record-dir``
(committed with the repository, so a study survives a machine that loses its
work dir) and is never run again; checkpoints and logs live in
``--work-dir``. A pretraining whose checkpoint is gone (a new machine) is
recomputed only while a fine-tuning still needs it, and its converted weights
must hash to the recorded digest (pretraining is deterministic for a given
thread count); otherwise the study stops instead of mixing two pretrainings.
The parameters are recorded in ``RECORD_DIR/study.json``; running the same
record dir with other parameters is refused (``--seeds`` may grow).

    .venv/bin/python benchmarks/transfer_demo.py --jobs 2 --write-readme
    .venv/bin/python benchmarks/transfer_demo.py --report-only --jobs 2 \
        --write-readme --note benchmarks/records/transfer_demo/discussion.md

(The report's "Command:" line is built from the arguments given, ``--jobs``
included, so report with the ones the study ran with.)

``--jobs 2`` runs two trainings side by side with one thread each (1.33x the
throughput of one two-thread run on 2 cores, measured for the fine-tuning:
3.0 s vs 2.0 s per iteration); a run's record states its jobs and threads.
On 2 cores the whole default study (12 pretrainings, 24 fine-tunings of
1000 iterations) is ~10 hours with two jobs: run it in parts, it resumes
(a record dir of the four-init study grows the warm starts only).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

# benchmarks/ is not a package: its sibling modules are imported from here.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
# isort: off
import readme_sections  # noqa: E402
import transfer_section as section_text  # noqa: E402
from transfer_jobs import run_all  # noqa: E402
import transfer_setup as setup  # noqa: E402
import transfer_runs as runs  # noqa: E402
from transfer_setup import PretrainRun  # noqa: E402
from transfer_study import Study  # noqa: E402
# isort: on

DEFAULT_WORK_DIR = 'work_dirs/transfer_demo'
DEFAULT_RECORD_DIR = osp.join('benchmarks', 'records', 'transfer_demo')


def parse_args(argv=None):
    from mmsoco.utils.progress import add_quiet_argument
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default=DEFAULT_WORK_DIR)
    parser.add_argument(
        '--record-dir',
        default=DEFAULT_RECORD_DIR,
        help='where each finished run leaves its JSON record '
        '(default: %(default)s, in the checkout)')
    parser.add_argument(
        '--data-root',
        default=None,
        help='demo dataset folder (default: '
        'mmsoco.datasets.demo_cache.default_demo_dir(), i.e. data/demo); '
        'generated there when missing, REGENERATED when made with another '
        '--num-images')
    parser.add_argument(
        '--num-images',
        type=int,
        default=300,
        help='demo images (80%% train, 20%% val)')
    parser.add_argument('--pretrain-epochs', type=int, default=20)
    parser.add_argument(
        '--warm-byol-epochs',
        type=int,
        default=14,
        help='epochs of the warm starts\' BYOL stage; their SoCo stage '
        'gets the rest of --pretrain-epochs')
    parser.add_argument(
        '--pretrain-seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--finetune-iters', type=int, default=1000)
    parser.add_argument(
        '--num-labeled',
        type=int,
        default=60,
        help='labeled train images for fine-tuning, a seeded subset of the '
        'train split (0: the whole split)')
    parser.add_argument(
        '--split-seed',
        type=int,
        default=0,
        help='seed of the labeled subset (one subset for every run)')
    parser.add_argument('--img-scale', type=int, default=320)
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0, 1, 2, 3],
        help='fine-tuning seeds (paired across inits)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='trainings run side by side, the cores shared among them')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='run nothing: report what the records hold')
    parser.add_argument(
        '--note',
        default=None,
        help='markdown file put under the tables in the README (the '
        'discussion of the result)')
    parser.add_argument('--write-readme', action='store_true')
    parser.add_argument(
        '--readme-tag',
        default='',
        help='write the README section between this tag\'s own markers '
        '(<!-- transfer_demo:TAG:begin/end -->) instead of the default '
        'study\'s')
    add_quiet_argument(parser)
    args = parser.parse_args(argv)
    if args.readme_tag and not readme_sections.valid_tag(args.readme_tag):
        parser.error(f'--readme-tag {args.readme_tag!r}: use letters, '
                     'digits, "_", "-" or "."')
    if args.pretrain_epochs < 2:
        parser.error('--pretrain-epochs must be >= 2 (warm-up + cosine)')
    if not 2 <= args.warm_byol_epochs <= args.pretrain_epochs - 2:
        parser.error('--warm-byol-epochs must leave each stage >= 2 epochs '
                     f'of --pretrain-epochs {args.pretrain_epochs}')
    if args.finetune_iters < 1:
        parser.error('--finetune-iters must be >= 1')
    if args.num_labeled < 0:
        parser.error('--num-labeled must be >= 0')
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    for name in ('seeds', 'pretrain_seeds'):
        values = getattr(args, name)
        if len(set(values)) != len(values) or min(values) < 0:
            parser.error(f'--{name.replace("_", "-")} must be distinct '
                         f'non-negative integers: {values}')
    if args.note is not None and not osp.isfile(args.note):
        parser.error(f'--note {args.note}: no such file')
    return args


def study_params(args):
    return {k: getattr(args, k) for k in setup.STUDY_KEYS + ('seeds', )}


def command_line(args):
    """The command that reproduces this study."""
    parts = ['.venv/bin/python benchmarks/transfer_demo.py']
    if args.work_dir != DEFAULT_WORK_DIR:
        parts.append(f'--work-dir {args.work_dir}')
    if args.record_dir != DEFAULT_RECORD_DIR:
        parts.append(f'--record-dir {args.record_dir}')
    if args.data_root is not None:
        parts.append(f'--data-root {args.data_root}')
    parts += [
        f'--num-images {args.num_images}',
        f'--pretrain-epochs {args.pretrain_epochs}',
        f'--warm-byol-epochs {args.warm_byol_epochs}',
        '--pretrain-seeds ' + ' '.join(map(str, args.pretrain_seeds)),
        f'--finetune-iters {args.finetune_iters}',
        f'--num-labeled {args.num_labeled}', f'--img-scale {args.img_scale}',
        '--seeds ' + ' '.join(map(str, args.seeds)), f'--jobs {args.jobs}',
        '--write-readme'
    ]
    if args.readme_tag:
        parts.append(f'--readme-tag {args.readme_tag}')
    return ' '.join(parts)


# ---------------------------------------------------------------------------
# Preparation: data, labeled split, proposals, configs.
# ---------------------------------------------------------------------------
def prepare_data(args, data_root, work_dir):
    """The demo data and the labeled split -> (split file, facts)."""
    from mmsoco.datasets.demo_cache import ensure_demo_dataset
    ensure_demo_dataset(data_root, num_images=args.num_images, seed=0)
    with open(osp.join(data_root, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    with open(osp.join(data_root, 'annotations', 'instances_val.json')) as f:
        num_val = len(json.load(f)['images'])
    split = osp.join(work_dir, 'labeled_train.json')
    if not osp.isfile(split):
        runs.write_json(
            split, setup.labeled_subset(coco, args.num_labeled,
                                        args.split_seed))
    subset = runs.read_json(split)
    return split, dict(
        num_train=len(coco['images']),
        num_val=num_val,
        num_labeled_objects=len(subset['annotations']))


def pretrain_configs(args, data_root, work_dir, num_train):
    """The config of every pretraining at every seed, the budgets checked
    (the three single-stage inits equal; each warm start's two stages
    together equal to soco) -> ({PretrainRun: cfg}, budget)."""
    from mmengine.config import Config
    cfgs = {}
    for seed in args.pretrain_seeds:
        of_seed = {}
        for init in setup.PRETRAININGS:
            epochs = setup.pretrain_epochs_of(init, args.pretrain_epochs,
                                              args.warm_byol_epochs)
            of_seed[init] = setup.pretrain_cfg_changes(
                Config.fromfile(setup.base_config_of(init)), data_root, epochs,
                seed)
            if init in setup.WARM_INITS:
                first = PretrainRun(init, seed).first_stage
                setup.warm_stage_changes(of_seed[init], init,
                                         setup.product_file(work_dir, first))
        budget = setup.check_same_budget(
            {init: of_seed[init]
             for init in setup.PRETRAIN_CONFIGS})
        for init in setup.WARM_INITS:
            setup.check_warm_budget(
                {
                    setup.BYOL_STAGE: of_seed[setup.BYOL_STAGE],
                    init: of_seed[init]
                }, of_seed['soco'], num_train)
        cfgs.update({PretrainRun(i, seed): c for i, c in of_seed.items()})
    return cfgs, budget


def warm_proposal_cache(cfg, enabled):
    """Compute every train image's proposals into the config's cache before
    any pretraining, so that no pretraining's time includes them."""
    from mmengine.registry import init_default_scope

    import mmsoco.datasets  # noqa: F401
    from mmsoco.registry import DATASETS
    from mmsoco.utils.progress import track
    init_default_scope('mmsoco')
    dataset_cfg = cfg['train_dataloader']['dataset'].to_dict()
    steps = dataset_cfg['pipeline']
    upto = 1 + next(i for i, s in enumerate(steps)
                    if s['type'] == 'SelectiveSearchProposals')
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=steps[:upto]))
    for index in track(
            range(len(dataset)), desc='proposals', unit='img',
            enabled=enabled):
        dataset[index]


def main(argv=None):
    args = parse_args(argv)
    from mmsoco.datasets.demo_cache import default_demo_dir
    from mmsoco.utils.progress import enabled_by
    data_root = osp.abspath(args.data_root or str(default_demo_dir()))
    work_dir, record_dir = map(osp.abspath, (args.work_dir, args.record_dir))
    os.makedirs(record_dir, exist_ok=True)
    study_file = osp.join(record_dir, 'study.json')
    study_record = runs.read_json(study_file) if osp.isfile(
        study_file) else None
    if study_record is not None:
        setup.check_study_params(study_record['params'], study_params(args))
    study = Study(args, data_root, work_dir, record_dir)

    start = time.perf_counter()
    if not args.report_only:
        os.makedirs(work_dir, exist_ok=True)
        split, facts = prepare_data(args, data_root, work_dir)
        pretrain_cfgs, budget = pretrain_configs(args, data_root, work_dir,
                                                 facts['num_train'])
        soco = pretrain_cfgs[PretrainRun('soco', args.pretrain_seeds[0])]
        iters_per_epoch = setup.iterations(
            soco, facts['num_train']) // args.pretrain_epochs
        facts.update(
            batch_size=budget['batch_size'],
            iters_per_epoch=iters_per_epoch,
            pretrain_iters=args.pretrain_epochs * iters_per_epoch)
        params = study_params(args)
        if study_record is not None:  # the seeds list may have grown
            params['seeds'] = sorted(
                set(params['seeds'])
                | set(study_record['params'].get('seeds', [])))
        study_record = dict(params=params, facts=facts)
        study.iters_per_epoch = iters_per_epoch
        runs.write_json(study_file, study_record)
        todo = study.todo()
        if any(isinstance(r, PretrainRun) for r in todo):
            warm_proposal_cache(
                next(iter(pretrain_cfgs.values())), enabled_by(args))
        run_all(
            todo,
            study.ready,
            lambda run: study.launch(run, pretrain_cfgs, split),
            study.finish,
            args.jobs,
            enabled=enabled_by(args))
    if study_record is None:
        raise SystemExit(f'{study_file}: no study recorded yet')
    records = {
        run: study.record(run)
        for run in setup.study_plan(args.pretrain_seeds, args.seeds)
    }
    note = open(args.note).read() if args.note else None
    section = section_text.format_section(records, study_record,
                                          command_line(args), args.readme_tag,
                                          note)
    print(section)
    print(f'({time.perf_counter() - start:.0f} s this run)')
    if args.write_readme:
        readme_sections.write_section(section_text.SECTION, section,
                                      args.readme_tag)


if __name__ == '__main__':
    main()

"""`make demo`: SoCo pretraining end to end on the embedded demo data.

1. Generates the demo dataset on first use (data/demo, cached).
2. Trains configs/soco/soco_r18fpn_demo.py on the CPU (300 iterations, about
   8 minutes on 2 cores).
3. Prints the loss at the start and the end, where the checkpoint is, and the
   next command (conversion to an MMDetection checkpoint).
"""
import argparse
import os
import os.path as osp
import shlex
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'soco2mmdet.py')
FINETUNE_CONFIG = 'configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py'


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'demo'),
        help='where the demo dataset is generated / cached')
    parser.add_argument(
        '--work-dir', default=osp.join(REPO, 'work_dirs', 'soco_r18fpn_demo'))
    parser.add_argument(
        '--num-images',
        type=int,
        default=300,
        help='images in the generated demo dataset')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='extra overrides for the demo config, as in tools/train.py')
    return parser.parse_args(argv)


def _losses(work_dir):
    """The logged training losses of the last run in ``work_dir``, oldest
    first (empty when it logged none)."""
    from mmsoco.utils.log_analysis import curve, is_train_record, load_scalars
    runs = sorted(
        d for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        return []
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
    records = [r for r in load_scalars(path) if is_train_record(r)]
    try:
        return curve(records, 'loss', path)[1]
    except KeyError:  # no logged loss
        return []


def _point_at_demo_data(cfg, root):
    """Use ``root`` for the images and for the on-the-fly proposal cache."""
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = root
    for step in dataset.pipeline:
        if step.get('type') == 'SelectiveSearchProposals':
            step['cache_dir'] = osp.join(root, 'proposal_cache')


def _path_arg(path):
    """``path`` as the printed commands spell it: relative to the repository
    (where they run) when inside it, else absolute."""
    path = osp.abspath(path)
    inside = osp.commonpath([path, REPO]) == REPO
    return osp.relpath(path, REPO) if inside else path


def finetune_data_overrides(ft_cfg, data_root):
    """``--cfg-options`` moving the fine-tune config onto ``data_root``.

    Empty when ``data_root`` is the config's own (``data/demo/`` of the
    repository); else every dataset and evaluator file that the config
    places under its ``data_root`` is moved under ``data_root``.
    """
    default = ft_cfg.data_root
    if osp.realpath(data_root) == osp.realpath(osp.join(REPO, default)):
        return []
    root = _path_arg(data_root).rstrip('/') + '/'
    overrides = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if ft_cfg[loader].dataset.get('data_root') == default:
            overrides.append(f'{loader}.dataset.data_root={root}')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        ann_file = ft_cfg[evaluator].get('ann_file', '')
        if ann_file.startswith(default):
            overrides.append(f'{evaluator}.ann_file='
                             f'{root}{ann_file[len(default):]}')
    return overrides


def next_commands(ckpt, work_dir, data_root):
    """The commands (argv lists, run from the repository root) that convert
    ``ckpt`` and fine-tune the matching Mask R-CNN on ``data_root``."""
    from mmengine.config import Config
    converted = _path_arg(osp.join(work_dir, 'mmdet.pth'))
    ft_cfg = Config.fromfile(osp.join(REPO, FINETUNE_CONFIG))
    python = _path_arg(sys.executable)  # .venv/bin/python after make demo
    convert = [
        python, 'tools/model_converters/soco2mmdet.py',
        _path_arg(ckpt), converted, '--config', FINETUNE_CONFIG
    ]
    finetune = [
        python, 'tools/train.py', FINETUNE_CONFIG, '--cfg-options',
        f'load_from={converted}', *finetune_data_overrides(ft_cfg, data_root)
    ]
    return [convert, finetune]


def format_commands(commands, cwd=None):
    """One shell line per command; ``cd`` to the repository first when the
    current directory is elsewhere."""
    cwd = os.getcwd() if cwd is None else cwd
    prefix = '' if osp.realpath(cwd) == osp.realpath(REPO) else (
        f'cd {shlex.quote(REPO)} && ')
    return [prefix + shlex.join(command) for command in commands]


def main(argv=None):
    args = parse_args(argv)
    from mmsoco.datasets.demo_cache import ensure_demo_dataset
    root = ensure_demo_dataset(args.data_root, num_images=args.num_images)
    print(f'demo data ready: {root}')

    if not osp.isfile(DEMO_CONFIG):
        print('SoCo pretraining is not available yet: '
              f'{osp.relpath(DEMO_CONFIG, REPO)} does not exist. '
              'Only the demo data was prepared.')
        return 1

    import mmsoco  # noqa: F401
    from mmsoco.utils import register_all_modules
    from mmsoco.utils.launch import (build_runner, empty_train_epoch,
                                     load_launch_config, weights_config_reason)

    register_all_modules(init_default_scope=False)
    cfg = load_launch_config(DEMO_CONFIG, 'none', args.cfg_options,
                             args.work_dir)
    reason = weights_config_reason(cfg)
    if reason:
        raise SystemExit(f'{DEMO_CONFIG}: {reason}')
    _point_at_demo_data(cfg, str(root))
    runner = build_runner(cfg)
    empty_epoch = empty_train_epoch(runner)
    if empty_epoch:
        raise SystemExit(f'{DEMO_CONFIG}: {empty_epoch}')
    runner.train()

    losses = _losses(args.work_dir)
    if losses:
        head = losses[:max(1, len(losses) // 5)]
        tail = losses[-max(1, len(losses) // 5):]
        first = sum(head) / len(head)
        last = sum(tail) / len(tail)
        print(f'loss: {first:.4f} (first logged iterations) -> '
              f'{last:.4f} (last logged iterations)')
    ckpt_file = osp.join(args.work_dir, 'last_checkpoint')
    ckpt = open(ckpt_file).read().strip() if osp.isfile(ckpt_file) else None
    print(f'checkpoint: {ckpt}')
    if ckpt and osp.isfile(CONVERTER):
        print('next: convert it and fine-tune the matching Mask R-CNN on '
              'the demo data:')
        for line in format_commands(
                next_commands(ckpt, args.work_dir, str(root))):
            print(f'  {line}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Train (pretrain or fine-tune) from an mmsoco config; mmdet's command line."""
import argparse
import os.path as osp

from mmengine.config import DictAction

import mmsoco  # noqa: F401  (installs the weights-only checkpoint allow-list)
from mmsoco.utils import register_all_modules
from mmsoco.utils.launch import (amp_unavailable_reason, apply_train_flags,
                                 build_runner, empty_train_epoch,
                                 load_launch_config, set_local_rank_env,
                                 setup_cpu_distributed, weights_config_reason)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train with an mmsoco config')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR by the real batch size (auto_scale_lr in config)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or with no path from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_cfg.max_epochs=1 or key="[a,b]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    set_local_rank_env(args.local_rank)
    # One line before anything is built (mmengine would fail later, with a
    # bare AssertionError or a traceback per process).
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config} does not exist')
    if args.amp and amp_unavailable_reason():
        raise SystemExit(amp_unavailable_reason())
    if args.resume not in (None, 'auto') and not osp.isfile(args.resume):
        raise SystemExit(f'--resume checkpoint {args.resume} does not exist')
    register_all_modules(init_default_scope=False)
    cfg = load_launch_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)
    try:
        apply_train_flags(cfg, args.amp, args.auto_scale_lr, args.resume)
    except RuntimeError as err:  # --auto-scale-lr without its settings
        raise SystemExit(f'{args.config}: {err}')
    reason = weights_config_reason(cfg)
    if reason:
        raise SystemExit(f'{args.config}: {reason}')
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    empty_epoch = empty_train_epoch(runner)
    if empty_epoch:
        raise SystemExit(f'{args.config}: {empty_epoch}')
    runner.train()
    # One line per process, so a launcher (and our tests) can see every rank
    # reach the end; mmengine's logger speaks for rank 0 only.
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    print(f'[rank {rank}/{world_size}] training finished', flush=True)


if __name__ == '__main__':
    main()

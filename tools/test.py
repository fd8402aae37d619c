"""Evaluate a checkpoint with an mmsoco / mmdet config; mmdet's command line."""
import argparse
import os.path as osp

from mmengine.config import DictAction

import mmsoco  # noqa: F401  (installs the weights-only checkpoint allow-list)
from mmsoco.utils import register_all_modules
from mmsoco.utils.launch import (apply_show_flags, build_runner,
                                 load_launch_config, set_local_rank_env,
                                 setup_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--out', type=str, help='dump predictions to a pickle file')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='write each test image with its predictions drawn into this '
        'folder (a relative path is a folder of WORK_DIR/<timestamp>/)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    set_local_rank_env(args.local_rank)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config} does not exist')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} not found')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--out {args.out}: must be a .pkl file')
    register_all_modules(init_default_scope=False)
    cfg = load_launch_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)
    cfg.load_from = args.checkpoint
    try:
        apply_show_flags(cfg, args.show, args.show_dir, args.wait_time)
    except ValueError as err:
        raise SystemExit(f'{args.config}: {err}')
    if args.out is not None:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='mmsoco.AtomicDumpDetResults', out_file_path=args.out))
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    main()

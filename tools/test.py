"""Evaluate a checkpoint with an mmsoco / mmdet config; mmdet's command line."""
import argparse
import os.path as osp

from mmengine.config import DictAction

import mmsoco  # noqa: F401  (installs the weights-only checkpoint allow-list)
from mmsoco.utils import register_all_modules
from mmsoco.utils.launch import (build_runner, load_launch_config,
                                 set_local_rank_env, setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--out', type=str, help='dump predictions to a pickle file')
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
    args = parser.parse_args()
    set_local_rank_env(args.local_rank)
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} not found')
    register_all_modules(init_default_scope=False)
    cfg = load_launch_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit('--out must be a .pkl file')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpDetResults', out_file_path=args.out))
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    main()

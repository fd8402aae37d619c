"""Curves and training time from mmengine's scalars.json (mmdet's tool).

    python tools/analysis_tools/analyze_logs.py plot_curve \
        WORK_DIR/TIMESTAMP/vis_data/scalars.json [MORE.json ...] \
        --keys loss momentum lr [--legend ...] [--title T] --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time \
        WORK_DIR/TIMESTAMP/vis_data/scalars.json [--include-outliers]

MMDetection's sub-commands and options; curves are drawn one panel per key
(losses, momentum and lr differ in scale by orders of magnitude) and val
metrics such as ``bbox_mAP`` are found by their name after the ``/``.
"""
import argparse
import sys

from mmsoco.utils.log_analysis import (LogFormatError, load_scalars,
                                       plot_curves, train_time_stats)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot logged scalars')
    plot.add_argument('json_logs', nargs='+', help='scalars.json files')
    plot.add_argument(
        '--keys',
        nargs='+',
        default=['loss'],
        help='scalars to plot (default: loss)')
    plot.add_argument('--title', help='title of the figure')
    plot.add_argument(
        '--legend', nargs='+', help='one name per (log, key), logs outermost')
    plot.add_argument('--backend', help='matplotlib backend')
    plot.add_argument('--style', help='matplotlib style, e.g. ggplot')
    plot.add_argument('--out', help='image file; without it, show')
    time = sub.add_parser(
        'cal_train_time', help='seconds per training iteration')
    time.add_argument('json_logs', nargs='+', help='scalars.json files')
    time.add_argument(
        '--include-outliers',
        action='store_true',
        help='keep the first record of every epoch')
    return parser.parse_args(argv)


def cal_train_time(args):
    for name in args.json_logs:
        stats = train_time_stats(load_scalars(name), args.include_outliers)
        print(f'-----Analyze train time of {name}-----')
        print(f'slowest epoch {stats["slowest_epoch"]}, average time is '
              f'{stats["slowest_mean"]:.4f}')
        print(f'fastest epoch {stats["fastest_epoch"]}, average time is '
              f'{stats["fastest_mean"]:.4f}')
        print(f'time std over epochs is {stats["epoch_std"]:.4f}')
        print(f'average iter time: {stats["iter_mean"]:.4f} s/iter')
        print()


def plot_curve(args):
    logs = [(name, load_scalars(name)) for name in args.json_logs]
    plot_curves(logs, args.keys, args.out, args.legend, args.title, args.style,
                args.backend)
    if args.out:
        print(f'save curve to: {args.out}')


def main(argv=None):
    args = parse_args(argv)
    try:
        {
            'plot_curve': plot_curve,
            'cal_train_time': cal_train_time
        }[args.task](
            args)
    except (LogFormatError, FileNotFoundError, KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else err
        sys.exit(f'analyze_logs: error: {message}')


if __name__ == '__main__':
    main()

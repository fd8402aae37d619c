"""Write the Mini-COCO annotation splits (1%, 5%, 10% of train2017).

    python tools/misc/make_mini_coco.py \
        data/coco/annotations/instances_train2017.json \
        --out data/coco/annotations [--fractions 0.01 0.05 0.1] [--seed 0]

Writes instances_train2017_{1,5,10}pct.json (the names the
configs/benchmarks/mmdet/*mini-coco*.py configs read). Nested, seeded splits;
see :mod:`mmsoco.datasets.mini_coco`. Fractions that select the same number of
images (1% and 5% of a set under 30 images) are refused: their files would be
identical. Exit status 1 then, and nothing is written.
"""
import argparse
import sys

from mmsoco.utils.progress import add_quiet_argument, enabled_by


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write seeded Mini-COCO annotation splits.')
    parser.add_argument('ann_file', help='COCO train2017 instances json')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--fractions', type=float, nargs='+', default=[0.01, 0.05, 0.10])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--prefix',
        default='instances_train2017',
        help='output file name prefix')
    add_quiet_argument(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmsoco.datasets.mini_coco import make_mini_coco
    try:
        written = make_mini_coco(
            args.ann_file,
            args.out,
            args.fractions,
            args.seed,
            args.prefix,
            progress=enabled_by(args))
    except (FileNotFoundError, ValueError) as err:
        print(f'make_mini_coco: error: {err}', file=sys.stderr)
        return 1
    for path, info in written.items():
        print(f'{path}: {info["num_images"]} of {info["num_source_images"]} '
              f'images, {info["num_annotations"]} annotations '
              f'(seed {info["seed"]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())

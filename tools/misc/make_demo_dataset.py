"""Generate mmsoco's demo dataset (COCO format) and print its summary.

A thin command line over :func:`mmsoco.datasets.demo.make_demo_dataset`:

    python tools/misc/make_demo_dataset.py --out data/demo --num-images 300 \
        --seed 0

The same seed gives byte-identical files. An existing demo dataset at --out is
replaced; any other non-empty folder is refused.
"""
import argparse
import sys
import time

from mmsoco.utils.progress import add_quiet_argument, enabled_by


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the mmsoco demo dataset (COCO format).')
    parser.add_argument(
        '--out',
        required=True,
        help='output folder (replaced if it holds a demo '
        'dataset, refused if it holds anything else)')
    parser.add_argument('--num-images', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--min-size',
        type=int,
        default=320,
        help='smallest image width/height in pixels')
    parser.add_argument(
        '--max-size',
        type=int,
        default=512,
        help='largest image width/height in pixels')
    parser.add_argument(
        '--val-fraction',
        type=float,
        default=0.2,
        help='share of images in the val split')
    add_quiet_argument(parser)
    return parser.parse_args(argv)


def format_summary(summary: dict, seconds: float) -> str:
    """The dataset's figures as a few aligned lines of text."""
    total = sum(summary['num_objects'].values())
    lines = [f'demo dataset at {summary["root"]} ({seconds:.1f} s)']
    for split in ('train', 'val'):
        lines.append(f'  {split:<5} {summary["num_images"][split]:>6} images '
                     f'{summary["num_objects"][split]:>7} objects  '
                     f'{summary["ann_files"][split]}')
    lines.append(f'  unlabeled image list: {summary["image_list"]} '
                 f'(paths relative to {summary["img_prefix"]})')
    lines.append('  objects per category:')
    for name, count in summary['objects_per_category'].items():
        lines.append(f'    {name:<22} {count:>6}')
    lines.append('  sizes (COCO area thresholds 32^2 / 96^2):')
    for bucket, count in summary['sizes'].items():
        share = 100.0 * count / max(total, 1)
        lines.append(f'    {bucket:<22} {count:>6} ({share:4.1f}%)')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmsoco.datasets.demo import make_demo_dataset
    start = time.perf_counter()
    try:
        summary = make_demo_dataset(
            args.out,
            num_images=args.num_images,
            seed=args.seed,
            min_size=args.min_size,
            max_size=args.max_size,
            val_fraction=args.val_fraction,
            progress=enabled_by(args))
    except (ValueError, FileExistsError) as e:
        print(f'make_demo_dataset.py: error: {e}', file=sys.stderr)
        return 2
    print(format_summary(summary, time.perf_counter() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Recall at IoU 0.5 / 0.7 of a proposal store on a COCO-format dataset.

    python tools/analysis_tools/eval_proposal_recall.py OUT_DIR/store \\
        data/coco/annotations/instances_val2017.json --img-prefix val2017

Prints a markdown table split by COCO object size; ``--out`` also writes the
numbers as JSON (a size range without objects: ``null`` recall, ``n/a`` in the
table). Exit status 1 when the store or the annotations cannot be
read, or when dataset images are missing from the store (named).
"""
import argparse
import sys

from mmsoco.evaluation.proposal_recall import (eval_proposal_recall,
                                               format_recall_table)
from mmsoco.proposals.store import ProposalStoreError
from mmsoco.utils.progress import add_quiet_argument, enabled_by


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Recall of a proposal store on a COCO-format dataset')
    parser.add_argument('store', help='proposal store directory')
    parser.add_argument('coco_json', help='COCO-format annotation file')
    parser.add_argument(
        '--img-prefix',
        default='',
        help='prefix of file_name in the store keys')
    parser.add_argument(
        '--iou-thrs', type=float, nargs='+', default=[0.5, 0.7])
    parser.add_argument(
        '--allow-missing',
        action='store_true',
        help='count images absent from the store as having '
        'no proposals instead of failing')
    parser.add_argument('--out', help='write the result as JSON here')
    add_quiet_argument(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = eval_proposal_recall(args.store, args.coco_json,
                                      args.img_prefix, args.iou_thrs,
                                      args.allow_missing, enabled_by(args))
    except (ProposalStoreError, KeyError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(format_recall_table(result, args.iou_thrs))
    print(f'images: {result["num_images"]}  proposals per image: '
          f'{result["proposals_per_image"]:.1f}  missing images: '
          f'{result["missing_images"]}')
    if args.out:
        from mmsoco.utils.atomic_files import atomic_write_json

        # strict JSON: a size range without objects has recall null
        atomic_write_json(args.out, result, indent=2, allow_nan=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())

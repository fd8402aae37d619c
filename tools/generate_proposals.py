"""Compute SoCo's selective-search proposals of a dataset into a proposal store.

Single machine (all cores)::

    python tools/generate_proposals.py data/imagenet/train data/proposals/imagenet_train \\
        --ann-file data/imagenet/meta/train.txt --workers 16

(``data/proposals/imagenet_train`` is the ImageNet configs' ``proposal_store``,
``configs/_base_/datasets/soco_fpn_imagenet.py``.)

Several machines: run shard I of N on each (same OUT_DIR on a shared file
system, or copy the ``shards/shard-*`` directories into one OUT_DIR), then::

    python tools/generate_proposals.py IMG_ROOT OUT_DIR --shard 3/8 --workers 16
    python tools/generate_proposals.py --merge OUT_DIR

Bring or hand out proposals in other formats (the authors' released
reference JSON ``{stem: [[x, y, w, h], ...]}``, or COCO results)::

    python tools/generate_proposals.py IMG_ROOT OUT_DIR --import-reference ref.json
    python tools/generate_proposals.py OUT_DIR --import-coco res.json --ann-file ann.json
    python tools/generate_proposals.py OUT_DIR --export-reference ref.json
    python tools/generate_proposals.py OUT_DIR --export-coco res.json --ann-file ann.json

(With ``--import-reference`` IMG_ROOT is optional: with it, the JSON's keys,
file stems as the authors wrote them, become relative paths and boxes are
checked against the image sizes; ``--export-reference`` writes stems.)

Images are decoded as the reference and the SoCo configs' loader
(``LoadImageWithPIL``) decode them: ``PIL.Image.open(f).convert('RGB')``, the
EXIF orientation tag ignored. ``--exif-orientation`` turns images upright by
their EXIF tag first (mmcv's ``LoadImageFromFile`` default); the store
records which (``meta.json``), and training refuses a loader that decodes
otherwise.

Awkward images never stop a run: corrupt, truncated and empty files, and
images over ``--max-pixels`` (checked from the header, before decoding), are
listed as failures with their reason and left out of the store; grayscale,
palette, 16-bit, CMYK and RGBA images are converted to 8-bit RGB; images too
small to search (e.g. 1x1) get the whole image as their proposal. To process
huge images rather than refuse them, raise ``--max-pixels`` and set
``--max-side`` (the search then runs downscaled; boxes are in original pixels).

A killed run continues with ``--resume`` (finished chunks are kept);
``--overwrite`` starts again over an OUT_DIR of an earlier run (its shard
folders whose manifest shows other settings are deleted; one without a
readable manifest, e.g. another machine's just started, is kept and
named). Progress: a bar on a terminal; elsewhere (slurm, nohup, ``2>log``)
a line on stderr every 30 s
(``MMSOCO_PROGRESS_INTERVAL`` seconds) with the count, the rate and the time
left; ``--quiet``: none. The store is written to ``OUT_DIR/store``; the run's summary to
``OUT_DIR/summary.json``, the images that could not be used (with reasons) to
``OUT_DIR/failures.tsv``. Exit status 0 when the run completed, even with
listed failures; 1 when it could not finish.
"""
import argparse
import os.path as osp
import sys

from mmsoco.proposals.compute import RECOMMENDED_MAX_SIDE
from mmsoco.proposals.generation import (DEFAULT_CHUNK_SIZE,
                                         DEFAULT_MAX_PIXELS, format_summary,
                                         generate, merge_shards)
from mmsoco.proposals.store_format import ProposalStoreError
from mmsoco.utils.progress import add_quiet_argument, enabled_by


def parse_shard(text: str):
    try:
        index, total = (int(v) for v in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--shard takes I/N (e.g. 0/4), got {text!r}') from None
    if total < 1 or not 0 <= index < total:
        raise argparse.ArgumentTypeError(f'--shard {text}: need 0 <= I < N')
    return index, total


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate selective-search proposals into a store',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='PATH',
        help='IMG_ROOT OUT_DIR; OUT_DIR alone with --merge, '
        '--import-coco and --export-*')
    parser.add_argument(
        '--merge',
        action='store_true',
        help='merge the finished shards of OUT_DIR')
    parser.add_argument(
        '--import-reference',
        metavar='JSON',
        help='write OUT_DIR/store from a reference JSON')
    parser.add_argument(
        '--import-coco',
        metavar='JSON',
        help='write OUT_DIR/store from COCO results '
        '(needs --ann-file)')
    parser.add_argument(
        '--export-reference',
        metavar='JSON',
        help='write the store of OUT_DIR as a reference JSON')
    parser.add_argument(
        '--export-coco',
        metavar='JSON',
        help='write the store of OUT_DIR as COCO results '
        '(needs --ann-file)')
    parser.add_argument(
        '--ann-file',
        help='images to process: a list file (first field '
        'of each line, e.g. ImageNet train.txt) or a COCO '
        'json; default: every image file under IMG_ROOT')
    parser.add_argument(
        '--workers', type=int, default=1, help='processes (default 1)')
    parser.add_argument(
        '--shard',
        type=parse_shard,
        default=(0, 1),
        metavar='I/N',
        help='run shard I of N (default 0/1)')
    restart = parser.add_mutually_exclusive_group()
    restart.add_argument(
        '--resume',
        action='store_true',
        help='continue a killed run, keeping finished chunks')
    restart.add_argument(
        '--overwrite',
        action='store_true',
        help='start again over the finished chunks of an earlier run in '
        'OUT_DIR (deleted)')
    parser.add_argument(
        '--max-side',
        type=int,
        default=RECOMMENDED_MAX_SIDE,
        help='shrink images so their longer side is at most '
        'this for the search; boxes stay in original pixels '
        f'(default {RECOMMENDED_MAX_SIDE}: the reference\'s '
        'recall at ~18x its speed, see benchmarks/README.md); '
        '0 searches at native size, as the reference')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help='refuse (list as failed) images with more '
        f'pixels (default {DEFAULT_MAX_PIXELS})')
    parser.add_argument(
        '--rule',
        default='ratio3size0308',
        help='proposal filter (default ratio3size0308, the '
        "one of all SoCo results); 'none' keeps every box")
    parser.add_argument(
        '--no-dedup',
        action='store_true',
        help='keep repeated boxes, as the reference did')
    parser.add_argument(
        '--color-mode',
        default='reference',
        choices=('reference', 'hsv'),
        help='colour histogram of the search')
    parser.add_argument(
        '--exif-orientation',
        action='store_true',
        help='decode images turned upright by their EXIF orientation tag '
        '(default: the tag is ignored, as the reference and the SoCo '
        'configs); with --import-coco: the results were computed so')
    parser.add_argument(
        '--chunk-size',
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help='images per resumable chunk')
    add_quiet_argument(parser)
    args = parser.parse_args(argv)
    modes = [
        m for m in ('merge', 'import_reference', 'import_coco',
                    'export_reference', 'export_coco') if getattr(args, m)
    ]
    if len(modes) > 1:
        parser.error('choose one of --merge, --import-*, --export-*')
    args.mode = modes[0] if modes else 'generate'
    want = dict(generate=(2, ), import_reference=(1, 2)).get(args.mode, (1, ))
    if len(args.paths) not in want:
        parser.error(f'--{args.mode.replace("_", "-")} expects '
                     f'{"IMG_ROOT OUT_DIR" if 2 in want else "OUT_DIR"}'
                     f'{" (IMG_ROOT optional)" if len(want) == 2 else ""}' if
                     args.mode != 'generate' else 'expected IMG_ROOT OUT_DIR')
    if args.mode != 'generate' and (args.resume or args.overwrite):
        parser.error('--resume and --overwrite are for generation (IMG_ROOT '
                     'OUT_DIR); imports replace OUT_DIR/store')
    if args.mode in ('import_coco', 'export_coco') and not args.ann_file:
        parser.error(f'--{args.mode.replace("_", "-")} needs --ann-file')
    if args.exif_orientation and args.mode not in ('generate', 'import_coco'):
        parser.error('--exif-orientation applies to generating and to '
                     '--import-coco only (the reference\'s proposals were '
                     'computed without it)')
    return args


def convert(args) -> str:
    """The import / export modes; returns what was written."""
    from mmsoco.proposals import store_exchange as S
    from mmsoco.proposals.store import ProposalStore
    out_dir = args.paths[-1]
    store_path = osp.join(out_dir, 'store')
    progress = enabled_by(args)
    if args.mode == 'import_reference':
        img_root = args.paths[0] if len(args.paths) == 2 else None
        return S.import_reference_json(
            args.import_reference,
            store_path,
            img_root=img_root,
            overwrite=True,
            progress=progress)
    if args.mode == 'import_coco':
        return S.import_coco_results(
            args.import_coco,
            args.ann_file,
            store_path,
            overwrite=True,
            exif_orientation=args.exif_orientation,
            progress=progress)
    store = ProposalStore(out_dir)
    if args.mode == 'export_reference':
        return S.export_reference_json(store, args.export_reference, progress)
    return S.export_coco_results(store, args.ann_file, args.export_coco,
                                 progress)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.mode not in ('generate', 'merge'):
            print(f'wrote {convert(args)}')
            return 0
        if args.merge:
            summary = merge_shards(args.paths[0], progress=enabled_by(args))
            out_dir = args.paths[0]
        else:
            img_root, out_dir = args.paths
            rule = None if args.rule.lower() == 'none' else args.rule
            params = dict(
                max_side=args.max_side or None,
                rule=rule,
                dedup=not args.no_dedup,
                color_mode=args.color_mode,
                max_pixels=args.max_pixels,
                exif_orientation=args.exif_orientation)
            summary = generate(img_root, out_dir, args.ann_file, params,
                               args.shard, args.workers, args.chunk_size,
                               args.resume, enabled_by(args), args.overwrite)
    except (ProposalStoreError, FileNotFoundError, ValueError, OSError,
            KeyError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted; continue with --resume', file=sys.stderr)
        return 1
    if summary is not None:
        print(format_summary(summary))
        print(f'store: {summary["store"]}\nsummary: '
              f'{osp.join(out_dir, "summary.json")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

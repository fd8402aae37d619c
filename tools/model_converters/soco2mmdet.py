"""Convert a SoCo checkpoint into MMDetection detector weights.

    python tools/model_converters/soco2mmdet.py IN OUT [--net online|target]
        [--arch fpn|c4] [--config DETECTOR_CONFIG | --arch-config ARCH_BASE]

Writes ``backbone.*``, ``neck.*`` and ``roi_head.bbox_head.shared_*`` (FPN)
or ``backbone.*`` and ``roi_head.shared_head.*`` (C4) for ``load_from`` of
the configs in configs/benchmarks/mmdet/, prints a key report, and exits
non-zero with a message naming the key when a tensor the detector needs is
missing or has another shape.
"""
import argparse
import sys

from mmsoco.converters import ConversionError, convert_to_mmdet
from mmsoco.converters.api import convert_from_args
from mmsoco.utils.progress import add_quiet_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='SoCo checkpoint (mmengine .pth)')
    parser.add_argument('dst', help='output mmdet checkpoint')
    parser.add_argument(
        '--net',
        choices=['online', 'target'],
        default='online',
        help='online network (default) or the EMA target')
    parser.add_argument(
        '--arch',
        choices=['fpn', 'c4'],
        help='architecture; detected from the keys if unset')
    check = parser.add_mutually_exclusive_group()
    check.add_argument(
        '--config',
        help='fine-tuning config whose detector the weights '
        'are checked against')
    check.add_argument(
        '--arch-config',
        help='architecture base file to check against (default: the '
        'configs/_base_/models file of the ResNet depth recorded in the '
        "checkpoint's meta.cfg, else r50_fpn_4conv1fc.py or r50_c4.py)")
    add_quiet_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        print(convert_from_args(convert_to_mmdet, args))
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'soco2mmdet: error: {err}')


if __name__ == '__main__':
    main()

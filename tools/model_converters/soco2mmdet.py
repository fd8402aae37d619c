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
from mmsoco.converters.api import add_detector_arguments, convert_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_detector_arguments(parser, 'output mmdet checkpoint')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        print(convert_from_args(convert_to_mmdet, args))
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'soco2mmdet: error: {err}')


if __name__ == '__main__':
    main()

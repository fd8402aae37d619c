"""Convert a SoCo checkpoint into detectron2 weights (``.pkl``).

    python tools/model_converters/soco2detectron2.py IN OUT.pkl
        [--net online|target] [--arch fpn|c4]
        [--config DETECTOR_CONFIG | --arch-config ARCH_BASE]

Writes ``{'model': {name: numpy array}, '__author__': 'mmsoco',
'matching_heuristics': False}`` with detectron2's names
(backbone.bottom_up.*, backbone.fpn_*, roi_heads.box_head.*,
roi_heads.res5.*), for ``MODEL.WEIGHTS``. detectron2 reads it with pickle;
:func:`mmsoco.converters.load_detectron2_pickle` reads it without running
code. Checks and exit codes as soco2mmdet.py.
"""
import argparse
import sys

from mmsoco.converters import ConversionError, convert_to_detectron2
from mmsoco.converters.api import add_detector_arguments, convert_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_detector_arguments(parser, 'output detectron2 weights (.pkl)')
    args = parser.parse_args(argv)
    if not args.dst.endswith('.pkl'):
        parser.error('detectron2 reads weights from a .pkl file: OUT must '
                     'end with .pkl')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        print(convert_from_args(convert_to_detectron2, args))
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'soco2detectron2: error: {err}')


if __name__ == '__main__':
    main()

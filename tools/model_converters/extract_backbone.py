"""Extract the ResNet of a SoCo or BYOL checkpoint.

    python tools/model_converters/extract_backbone.py IN OUT
        [--net online|target] [--torchvision]

Default: an mmengine checkpoint ``{'meta', 'state_dict'}`` with mmdet ResNet
keys, for ``backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT)``.
``--torchvision``: a bare state dict with torchvision ResNet names, for
``torchvision.models.resnet50().load_state_dict(sd, strict=False)`` (the
classifier ``fc`` is not pretrained). A C4 checkpoint's res5 (its shared head)
becomes ``layer4``.
"""
import argparse
import sys

from mmsoco.converters import ConversionError, export_backbone
from mmsoco.converters.api import add_checkpoint_arguments
from mmsoco.utils.progress import enabled_by


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_checkpoint_arguments(parser, 'SoCo / BYOL checkpoint (mmengine .pth)',
                             'output backbone checkpoint')
    parser.add_argument(
        '--torchvision',
        action='store_true',
        help='torchvision ResNet key names, bare state dict')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        print(
            export_backbone(
                args.src,
                args.dst,
                args.net,
                args.torchvision,
                progress=enabled_by(args)))
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'extract_backbone: error: {err}')


if __name__ == '__main__':
    main()

"""Prepare a training checkpoint for release, as MMDetection's tool.

    python tools/model_converters/publish_model.py IN OUT
        [--save-keys meta state_dict]

Drops the optimizer, the LR schedulers and the message hub (resuming state),
keeps ``meta`` and ``state_dict``, and writes ``OUT-<sha8>.pth`` (OUT without
``.pth``, then the first 8 hex digits of the file's sha256). The result loads
with ``torch.load(path, weights_only=True)``.
"""
import argparse
import sys

from mmsoco.converters.io import ConversionError
from mmsoco.converters.publish import DEFAULT_SAVE_KEYS, publish_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='training checkpoint (mmengine .pth)')
    parser.add_argument('out_file', help='output name; -<sha8>.pth appended')
    parser.add_argument(
        '--save-keys',
        nargs='+',
        help='top-level keys to keep, each of which must be in the '
        'checkpoint (default: ' + ' '.join(DEFAULT_SAVE_KEYS) +
        ', meta if it has one)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        final = publish_checkpoint(args.in_file, args.out_file, args.save_keys)
    except (ConversionError, FileNotFoundError) as err:
        sys.exit(f'publish_model: error: {err}')
    print(f'The published model is saved at {final}.')


if __name__ == '__main__':
    main()

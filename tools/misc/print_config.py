"""Print a config as the tools see it: every base merged, --cfg-options applied.

MMDetection's ``tools/misc/print_config.py`` command line; ``--save-path``
writes the result as ``.py``, ``.json`` or ``.yml`` / ``.yaml`` (atomically).
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from mmsoco.utils.atomic_files import atomic_open
from mmsoco.utils.launch import load_config_or_exit

FORMATS = {'.py': None, '.json': 'json', '.yml': 'yaml', '.yaml': 'yaml'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--save-path',
        help='also write the whole config here (.py, .json, .yml or .yaml)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, as '
        'tools/train.py takes them')
    args = parser.parse_args(argv)
    if args.save_path is not None and \
            osp.splitext(args.save_path)[1] not in FORMATS:
        parser.error(f'--save-path {args.save_path}: the name must end in '
                     f'{", ".join(FORMATS)}')
    return args


def config_text(cfg: Config, suffix: str) -> str:
    """``cfg`` written in the format of ``suffix``."""
    file_format = FORMATS[suffix]
    if file_format is None:
        return cfg.pretty_text
    from mmengine.fileio import dump
    return dump(cfg.to_dict(), file_format=file_format)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config_or_exit(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        text = config_text(cfg, osp.splitext(args.save_path)[1])
        with atomic_open(args.save_path, 'w') as f:
            f.write(text)
        print(f'Config saved at {args.save_path}')


if __name__ == '__main__':
    main()

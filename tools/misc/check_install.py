"""Check that the installed stack imports: mmcv's compiled ops, mmdet, mmsoco, torchvision.

``make install`` runs it last; each failure is one line that names the package
and, for the mismatches seen in practice, the fix.
"""
import importlib
import sys

HINTS = {
    'mmcv.ops':
    'mmcv was built without its ops or against another torch: rebuild it with '
    '`MMCV_WITH_OPS=1 pip install --no-build-isolation --no-cache-dir '
    '--force-reinstall mmcv==2.1.0`',
    'torchvision.ops':
    "torchvision's compiled ops do not match the installed torch (PyPI's "
    'torchvision is built against PyPI\'s CUDA torch; a "+cpu" torch from a '
    'local wheel folder does not work with it): install the torch build that '
    'matches your torchvision, e.g. `pip install "torch===2.13.0" '
    'torchvision==0.28.0`',
}


def check(modules=('mmcv.ops', 'mmdet', 'mmsoco', 'torchvision.ops')):
    """Return one message per module that fails to import."""
    failures = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # any import-time failure is reported
            hint = HINTS.get(name)
            failures.append(f'cannot import {name}: '
                            f'{type(error).__name__}: {error}' +
                            (f'\n  fix: {hint}' if hint else ''))
    return failures


def main():
    failures = check()
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    import torch

    import mmsoco
    print(f'mmsoco {mmsoco.__version__} installed (torch {torch.__version__})')


if __name__ == '__main__':
    main()

"""Load the transfer study's benchmark modules (benchmarks/ is not a
package: the script puts its own folder on sys.path, as here)."""
import importlib
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARKS = osp.join(REPO, 'benchmarks')


def load(name):
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)
    return importlib.import_module(name)

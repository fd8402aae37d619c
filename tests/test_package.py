"""The package imports quietly, has a version, and its registries hang off mmdet's."""
import os
import subprocess
import sys

import mmdet.registry as mmdet_registry

import mmsoco
from mmsoco import registry


def test_version():
    assert isinstance(mmsoco.__version__, str)
    assert mmsoco.__version__.count('.') == 2
    assert mmsoco.version_info == tuple(
        int(x) for x in mmsoco.__version__.split('.'))


def test_import_prints_nothing():
    """No version warning (mmcv/mmdet mismatch) or other noise on import."""
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    out = subprocess.run([sys.executable, '-c', 'import mmsoco'],
                         capture_output=True,
                         text=True,
                         env=env,
                         check=True)
    assert out.stdout == ''
    assert out.stderr == ''


def test_every_registry_is_a_mmsoco_child_of_mmdet():
    names = [
        'RUNNERS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
        'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
        'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
        'METRICS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS',
        'LOG_PROCESSORS'
    ]
    for name in names:
        ours = getattr(registry, name)
        assert ours.scope == 'mmsoco', name
        assert ours.parent is getattr(mmdet_registry, name), name
        # Nodes mmsoco registers into import their modules on first use;
        # the visualizer nodes only bridge the scope (nothing registered).
        assert bool(ours._locations) == (name not in ('VISUALIZERS',
                                                      'VISBACKENDS')), name
    assert not hasattr(registry, 'RUNNER_CONSTRUCTORS')  # nothing builds it

"""mmsoco's registry nodes, scope ``mmsoco``.

Each node is a child of the matching MMDetection node, so a config run under
``default_scope = 'mmsoco'`` resolves mmsoco's own components first and falls
back to mmdet's (``ResNet``, ``FPN``, ``CocoDataset``, ``RoIAlign``, ...) and
then to mmengine's, without prefixes. ``locations`` lets a node import the
modules that register into it on first use, so ``import mmsoco`` stays light.

A node is kept when mmsoco registers into it or when mmengine / mmdet build
through it under the ``mmsoco`` scope (the runner builds loops, samplers,
optimizers, schedulers, evaluators, the visualizer and its backends, log
processors and model wrappers through the default scope's node; mmdet builds
its assigners through ``TASK_UTILS``): without the node mmengine warns and
falls back to its root registry, where mmdet's names are not found. Nothing
builds through a runner-constructor registry, so there is none.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

_SCOPE = 'mmsoco'


def _child(name, parent, locations):
    return Registry(name, parent=parent, scope=_SCOPE, locations=locations)


RUNNERS = _child('runner', MMDET_RUNNERS, ['mmsoco.engine'])
LOOPS = _child('loop', MMDET_LOOPS, ['mmsoco.engine'])
HOOKS = _child('hook', MMDET_HOOKS, ['mmsoco.engine.hooks'])

DATASETS = _child('dataset', MMDET_DATASETS, ['mmsoco.datasets'])
DATA_SAMPLERS = _child('data sampler', MMDET_DATA_SAMPLERS,
                       ['mmsoco.datasets'])
TRANSFORMS = _child('transform', MMDET_TRANSFORMS,
                    ['mmsoco.datasets.transforms'])

MODELS = _child('model', MMDET_MODELS, ['mmsoco.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMDET_MODEL_WRAPPERS,
                        ['mmsoco.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMDET_WEIGHT_INITIALIZERS,
                             ['mmsoco.models'])

OPTIMIZERS = _child('optimizer', MMDET_OPTIMIZERS,
                    ['mmsoco.engine.optimizers'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMDET_OPTIM_WRAPPERS,
                        ['mmsoco.engine.optimizers'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer constructor',
                                    MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
                                    ['mmsoco.engine.optimizers'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMDET_PARAM_SCHEDULERS,
                          ['mmsoco.engine'])
METRICS = _child('metric', MMDET_METRICS, ['mmsoco.evaluation'])
EVALUATOR = _child('evaluator', MMDET_EVALUATOR, ['mmsoco.evaluation'])

TASK_UTILS = _child('task util', MMDET_TASK_UTILS, ['mmsoco.models'])

# mmsoco registers no visualizer: these nodes only bridge the scope.
VISUALIZERS = _child('visualizer', MMDET_VISUALIZERS, [])
VISBACKENDS = _child('vis_backend', MMDET_VISBACKENDS, [])
LOG_PROCESSORS = _child('log_processor', MMDET_LOG_PROCESSORS,
                        ['mmsoco.engine'])

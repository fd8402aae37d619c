"""Shape checks of converted weights against the destination detector.

A converted tensor is only useful if the detector has a parameter of the same
name and shape. The destination is built either from a detector config
(``--config``) or from an architecture base file in ``configs/_base_/models``
(the single source of truth both pretraining and fine-tuning read), without
initialising weights (nothing is downloaded).
"""
import os.path as osp
from typing import Dict, Iterable, List, Optional

import torch

from .io import ConversionError

#: The detector parts a SoCo checkpoint initialises (mmdet key prefixes).
TRANSFERRED_PREFIXES = ('backbone.', 'neck.', 'roi_head.bbox_head.shared_',
                        'roi_head.shared_head.')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_MODELS = osp.join(REPO_ROOT, 'configs', '_base_', 'models')
#: Architecture base file per (arch, ResNet depth).
ARCH_CONFIGS = {
    ('fpn', 50): osp.join(_MODELS, 'r50_fpn_4conv1fc.py'),
    ('fpn', 18): osp.join(_MODELS, 'r18_fpn_4conv1fc.py'),
    ('c4', 50): osp.join(_MODELS, 'r50_c4.py'),
}
#: Default architecture base file per arch (depth unknown: the paper's R50).
DEFAULT_ARCH_CONFIGS = {
    'fpn': ARCH_CONFIGS[('fpn', 50)],
    'c4': ARCH_CONFIGS[('c4', 50)]
}


def arch_config_for(arch: str, depth: Optional[int], src: str) -> str:
    """The architecture base file of an ``arch`` checkpoint whose config
    recorded a ResNet-``depth`` (None: not recorded, the R50 default).

    Raises:
        ConversionError: no base file for that depth; names the flags.
    """
    if depth is None:
        return DEFAULT_ARCH_CONFIGS[arch]
    if (arch, depth) not in ARCH_CONFIGS:
        raise ConversionError(
            f'{src} was trained with a ResNet-{depth} {arch.upper()} model '
            '(its meta.cfg), and configs/_base_/models has no architecture '
            'file for it: pass --arch-config with that model\'s '
            'architecture base file, or --config with its fine-tuning config')
    return ARCH_CONFIGS[(arch, depth)]


def _shapes(module: torch.nn.Module,
            prefix: str,
            keep: Optional[Iterable[str]] = None) -> Dict[str, torch.Size]:
    keep = tuple(keep) if keep is not None else None
    return {
        prefix + k: v.shape
        for k, v in module.state_dict().items()
        if keep is None or k.startswith(keep)
    }


def arch_destination_shapes(arch_config: str) -> Dict[str, torch.Size]:
    """mmdet key -> shape of every tensor a SoCo checkpoint initialises,
    for the architecture in ``arch_config`` (``backbone``, ``neck``,
    ``bbox_head_trunk`` or ``shared_head``)."""
    from mmengine.config import Config

    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if not osp.isfile(arch_config):
        raise FileNotFoundError(f'architecture config {arch_config} not found')
    cfg = Config.fromfile(arch_config)
    if 'backbone' not in cfg:
        raise ConversionError(f'{arch_config} defines no "backbone"')
    shapes = _shapes(MODELS.build(cfg.backbone), 'backbone.')
    if 'neck' in cfg:
        shapes.update(_shapes(MODELS.build(cfg.neck), 'neck.'))
    if 'bbox_head_trunk' in cfg:
        head = MODELS.build(
            dict(
                type='Shared4Conv1FCBBoxHead',
                num_classes=1,
                **cfg.bbox_head_trunk))
        shapes.update(_shapes(head, 'roi_head.bbox_head.', keep=('shared_', )))
    if 'shared_head' in cfg:
        shapes.update(
            _shapes(MODELS.build(cfg.shared_head), 'roi_head.shared_head.'))
    return shapes


def detector_destination_shapes(
        config: str,
        cfg_options: Optional[dict] = None) -> Dict[str, torch.Size]:
    """The same, read off the detector built from a fine-tuning config."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if not osp.isfile(config):
        raise FileNotFoundError(f'detector config {config} not found')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    # mmengine builds a detector's data preprocessor from the default scope
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        model = MODELS.build(cfg.model)
    # parts a module declares new for fine-tuning (``fine_tune_only``, e.g.
    # the C4 head's extra norm after res5) have no pretrained source
    new_parts = tuple(f'{name}.{child}.'
                      for name, module in model.named_modules()
                      for child in getattr(module, 'fine_tune_only', ()))
    return {
        k: v.shape
        for k, v in model.state_dict().items()
        if k.startswith(TRANSFERRED_PREFIXES) and not k.startswith(new_parts)
    }


def check_against_destination(converted: Dict[str, torch.Tensor],
                              destination: Dict[str, torch.Size]) -> List[str]:
    """Raise unless ``converted`` fills every destination tensor exactly.

    Returns:
        Converted keys the destination does not have (reported, not fatal:
        e.g. a detector that leaves a part out).

    Raises:
        ConversionError: a destination tensor has no source, or a shape
            differs; the message names the keys.
    """
    missing = [k for k in destination if k not in converted]
    mismatched = [
        f'{k}: checkpoint {tuple(converted[k].shape)} vs detector '
        f'{tuple(shape)}' for k, shape in destination.items()
        if k in converted and converted[k].shape != shape
    ]
    problems = []
    if missing:
        problems.append(f'{len(missing)} detector tensors have no source in '
                        'the checkpoint, e.g. ' + ', '.join(missing[:5]))
    if mismatched:
        problems.append(f'{len(mismatched)} shapes differ: ' +
                        '; '.join(mismatched[:5]))
    if problems:
        raise ConversionError(' / '.join(problems) +
                              ' (wrong architecture? pass the matching '
                              '--config or --arch-config)')
    return [k for k in converted if k not in destination]

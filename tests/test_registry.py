"""A config mixing unprefixed mmdet / mmcv names with mmsoco names builds."""
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from mmsoco.registry import MODELS, TRANSFORMS


def test_demo_model_config_mixes_mmdet_and_mmsoco_names():
    cfg = Config.fromfile('configs/soco/soco_r18fpn_demo.py')
    assert cfg.default_scope == 'mmsoco'
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    # mmsoco's own components ...
    assert type(model).__name__ == 'SoCo'
    assert type(model).__module__.startswith('mmsoco.')
    assert type(model.roi_extractor).__name__ == 'ScaleAwareRoIExtractor'
    # ... and mmdet's / mmcv's, resolved without a scope prefix.
    assert type(model.backbone).__module__.startswith('mmdet.models')
    assert type(model.neck).__name__ == 'FPN'
    assert type(
        model.roi_extractor.roi_layers[0]).__module__.startswith('mmcv.ops')
    feats = model.backbone(torch.zeros(1, 3, 64, 64))
    assert len(model.neck(feats)) == 4  # P2-P5


def test_prefixed_names_still_reach_the_parents():
    init_default_scope('mmsoco')
    assert MODELS.get('mmdet.ResNet') is MODELS.get('ResNet')
    # A transform that only mmdet has, looked up from mmsoco's scope.
    assert TRANSFORMS.get('LoadImageFromFile') is not None
    assert TRANSFORMS.get('MultiViewBoxJitter').__module__.startswith(
        'mmsoco.')
    assert DefaultScope.get_current_instance().scope_name == 'mmsoco'


def test_every_mmsoco_component_cites_the_paper_and_its_section():
    """Each registered component's docstring names the paper and the part
    of docs/method.md it implements (the house style of mmpretrain)."""
    import re

    from mmengine.registry import Registry

    import mmsoco.registry as registries
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    missing = []
    for name in dir(registries):
        registry = getattr(registries, name)
        if not isinstance(registry, Registry) or registry.scope != 'mmsoco':
            continue
        for key, cls in registry.module_dict.items():
            if not cls.__module__.startswith('mmsoco.'):
                continue  # registered by a test module
            doc = cls.__doc__ or ''
            if 'arxiv.org/abs/' not in doc or not re.search(
                    r'docs/method\.md`*,?\s+sections?\s+[0-9]', doc):
                missing.append(f'{name}.{key}')
    assert missing == []

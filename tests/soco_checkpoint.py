"""SoCo / BYOL checkpoints of the real models, for the converter tests.

The state dict comes from the model itself, built from the shrunk demo config
(``tests/data/configs/soco_r18fpn_tiny.py``; ``soco_r18c4_tiny.py`` for the
C4 variant, ``byol_r18_tiny.py`` for BYOL), so the key layout is whatever
``mmsoco.models`` writes, never one derived from the conversion's destination.
Every tensor gets random values (online and target differ), so a test that
finds the online values in a converted file knows they came from the online
network.
"""
import os.path as osp
from collections import OrderedDict

import torch
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'configs')
TINY_CONFIGS = dict(
    fpn=osp.join(CONFIGS, 'soco_r18fpn_tiny.py'),
    c4=osp.join(CONFIGS, 'soco_r18c4_tiny.py'),
    byol=osp.join(CONFIGS, 'byol_r18_tiny.py'))


def build_model(kind: str = 'fpn'):
    """The shrunk SoCo (``'fpn'``, ``'c4'``) or BYOL (``'byol'``) model."""
    from mmengine.registry import DefaultScope

    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(TINY_CONFIGS[kind]).model
    with DefaultScope.overwrite_default_scope('mmsoco'):
        return MODELS.build(cfg)


def soco_state_dict(kind: str = 'fpn', seed: int = 0) -> OrderedDict:
    """The model's state dict with random values (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for key, value in build_model(kind).state_dict().items():
        if value.is_floating_point():
            out[key] = torch.randn(value.shape, generator=generator)
        else:
            out[key] = torch.randint(
                0, 1000, value.shape, generator=generator, dtype=value.dtype)
    return out


def save_mmengine_checkpoint(state_dict, path):
    """What mmengine's CheckpointHook writes, reduced to what we read."""
    torch.save(
        dict(
            meta=dict(epoch=1, iter=10, mmengine_version='0.10.7'),
            state_dict=state_dict), str(path))
    return str(path)

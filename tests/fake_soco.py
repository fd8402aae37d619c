"""Fake SoCo / BYOL checkpoints built from the real building blocks.

The key layout is the SoCo model's (``mmsoco.models.algorithms.soco``): online ``backbone.*``
(mmdet ResNet), ``neck.*`` (mmdet FPN), ``bbox_head.*`` (Shared4Conv1FCBBoxHead's
shared part) or ``shared_head.*`` (mmdet ResLayer, C4), ``projector.*``,
``predictor.*``; the EMA target under ``target.*`` without a predictor. Every
tensor gets random values (online and target differ), so a test that finds
the online values in a converted file knows they came from the online network.
"""
from collections import OrderedDict

import torch
from mmengine.config import Config
from torch import nn


def _mlp(in_channels, hidden, out_channels):
    return nn.Sequential(
        nn.Linear(in_channels, hidden), nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True), nn.Linear(hidden, out_channels))


def build_parts(arch_config):
    """``{prefix: module}`` of the online network described by an arch file
    (path or dict with backbone / neck / bbox_head_trunk / shared_head)."""
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(arch_config) if isinstance(arch_config, str) \
        else Config(arch_config)
    parts = OrderedDict(backbone=MODELS.build(cfg.backbone))
    if 'neck' in cfg:
        parts['neck'] = MODELS.build(cfg.neck)
    if 'bbox_head_trunk' in cfg:
        parts['bbox_head'] = MODELS.build(
            dict(
                type='Shared4Conv1FCBBoxHead',
                num_classes=1,
                **cfg.bbox_head_trunk))
        feat = cfg.bbox_head_trunk.fc_out_channels
    if 'shared_head' in cfg:
        parts['shared_head'] = MODELS.build(cfg.shared_head)
        # res5 output channels: 512 x block expansion (4 for bottlenecks)
        feat = 2048 if cfg.shared_head.depth >= 50 else 512
    parts['projector'] = _mlp(feat, 32, 16)
    parts['predictor'] = _mlp(16, 32, 16)
    return parts


def _randomised(state_dict, generator):
    out = OrderedDict()
    for key, value in state_dict.items():
        if value.is_floating_point():
            out[key] = torch.randn(value.shape, generator=generator)
        else:
            out[key] = torch.randint(
                0, 1000, value.shape, generator=generator, dtype=value.dtype)
    return out


def fake_soco_state_dict(arch_config, byol=False, seed=0):
    """A SoCo (or, ``byol=True``, BYOL: backbone only) state dict."""
    generator = torch.Generator().manual_seed(seed)
    parts = build_parts(arch_config)
    if byol:
        parts = OrderedDict((k, v) for k, v in parts.items()
                            if k in ('backbone', 'projector', 'predictor'))
    state_dict = OrderedDict()
    for prefix in ('', 'target.'):
        for name, module in parts.items():
            if prefix and name == 'predictor':
                continue  # the EMA target has no predictor
            module_sd = module.state_dict()
            if name == 'bbox_head':
                module_sd = OrderedDict((k, v) for k, v in module_sd.items()
                                        if k.startswith('shared_'))
            for key, value in _randomised(module_sd, generator).items():
                state_dict[f'{prefix}{name}.{key}'] = value
    return state_dict


def save_mmengine_checkpoint(state_dict, path):
    """What mmengine's CheckpointHook writes, reduced to what we read."""
    torch.save(
        dict(
            meta=dict(epoch=1, iter=10, mmengine_version='0.10.7'),
            state_dict=state_dict), str(path))
    return str(path)


#: A small C4 architecture (ResNet-18 res2-res4 + res5 shared head, BN) for
#: tests; the real r50_c4.py has the same structure at depth 50.
R18_C4_ARCH = dict(
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    shared_head=dict(
        type='ResLayer',
        depth=18,
        stage=3,
        stride=2,
        dilation=1,
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False))

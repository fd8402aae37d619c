"""MMDetection detector keys -> detectron2 names (``docs/method.md`` section 5.1).

The reference fine-tunes with detectron2 and ships its weights as a pickle
``{'model': {name: numpy array}, '__author__': ..., 'matching_heuristics':
False}``. Names follow detectron2's modules (``modeling/backbone/resnet.py``,
``fpn.py``, ``roi_heads/box_head.py``, ``roi_heads/roi_heads.py``):

===========================================  =========================================
mmdet                                        detectron2
===========================================  =========================================
backbone.conv1.weight                        backbone.bottom_up.stem.conv1.weight
backbone.bn1.*                               backbone.bottom_up.stem.conv1.norm.*
backbone.layer{s}.{i}.conv{k}.weight         backbone.bottom_up.res{s+1}.{i}.conv{k}.weight
backbone.layer{s}.{i}.bn{k}.*                backbone.bottom_up.res{s+1}.{i}.conv{k}.norm.*
backbone.layer{s}.{i}.downsample.0.weight    backbone.bottom_up.res{s+1}.{i}.shortcut.weight
backbone.layer{s}.{i}.downsample.1.*         backbone.bottom_up.res{s+1}.{i}.shortcut.norm.*
neck.lateral_convs.{l}.conv.weight / .bn.*   backbone.fpn_lateral{l+2}.weight / .norm.*
neck.fpn_convs.{l}.conv.weight / .bn.*       backbone.fpn_output{l+2}.weight / .norm.*
roi_head.bbox_head.shared_convs.{c}.conv/bn  roi_heads.box_head.conv{c+1}.weight / .norm.*
roi_head.bbox_head.shared_fcs.{f}.*          roi_heads.box_head.fc{f+1}.*
roi_head.shared_head.layer4.{i}.*            roi_heads.res5.{i}.* (block names as above)
===========================================  =========================================

(``.norm.*`` = weight, bias, running_mean, running_var.) In detectron2's C4
model the ResNet (res2-res4) *is* the backbone, so there the ResNet names start
with ``backbone.`` instead of ``backbone.bottom_up.``.

``num_batches_tracked`` is dropped: detectron2's FrozenBN has no such buffer
and torch's BatchNorm fills it in when absent.
"""
import re
from collections import Counter, OrderedDict
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .io import ConversionError

_NORM = r'(weight|bias|running_mean|running_var)'
_BLOCK = re.compile(
    rf'^(?P<block>\d+)\.(?:(?P<conv>conv[1-3])\.weight|bn(?P<bn>[1-3])\.'
    rf'(?P<bn_param>{_NORM})|downsample\.0\.weight|downsample\.1\.'
    rf'(?P<sc_param>{_NORM}))$')


def _block_key(rest: str, full_key: str) -> str:
    """``{i}.conv1.weight`` style suffix of a ResNet block, detectron2 named."""
    m = _BLOCK.match(rest)
    if m is None:
        raise ConversionError(f'"{full_key}": not a ResNet block parameter '
                              'detectron2 knows')
    block = m.group('block')
    if m.group('conv'):
        return f'{block}.{m.group("conv")}.weight'
    if m.group('bn'):
        return f'{block}.conv{m.group("bn")}.norm.{m.group("bn_param")}'
    if m.group('sc_param'):
        return f'{block}.shortcut.norm.{m.group("sc_param")}'
    return f'{block}.shortcut.weight'


def _conv_module_key(rest: str, full_key: str) -> str:
    """mmcv ``ConvModule`` suffix (``conv.weight``, ``bn.*``) -> detectron2
    ``Conv2d`` suffix (``weight``, ``bias``, ``norm.*``)."""
    m = re.match(rf'^(?:conv\.(?P<conv>weight|bias)|bn\.(?P<bn>{_NORM}))$',
                 rest)
    if m is None:
        raise ConversionError(f'"{full_key}": not a conv / norm parameter')
    return m.group('conv') or f'norm.{m.group("bn")}'


def detectron2_key(key: str, arch: str = 'fpn') -> Optional[str]:
    """detectron2's name for an mmdet detector key (None: drop the key).

    Args:
        key: an mmdet key, as produced by :func:`soco_to_mmdet`.
        arch: ``'fpn'`` (ResNet under ``backbone.bottom_up``) or ``'c4'``
            (detectron2's C4 ResNet is the ``backbone`` itself, res2-res4).

    Raises:
        ConversionError: a key with no detectron2 counterpart.
    """
    if key.endswith('.num_batches_tracked'):
        return None
    resnet = 'backbone.bottom_up.' if arch == 'fpn' else 'backbone.'
    m = re.match(rf'^backbone\.(?:conv1\.weight|bn1\.(?P<stem>{_NORM}))$', key)
    if m:
        return resnet + ('stem.conv1.weight' if m.group('stem') is None else
                         f'stem.conv1.norm.{m.group("stem")}')
    m = re.match(r'^backbone\.layer(?P<stage>[1-4])\.(?P<rest>.+)$', key)
    if m:
        stage = int(m.group('stage')) + 1
        return f'{resnet}res{stage}.' + _block_key(m.group('rest'), key)
    m = re.match(r'^roi_head\.shared_head\.layer4\.(?P<rest>.+)$', key)
    if m:
        return 'roi_heads.res5.' + _block_key(m.group('rest'), key)
    m = re.match(
        r'^neck\.(?P<kind>lateral|fpn)_convs\.(?P<level>\d+)\.'
        r'(?P<rest>.+)$', key)
    if m:
        # level 0 is C2 / P2 (stride 4): detectron2 names by log2(stride).
        name = 'fpn_lateral' if m.group('kind') == 'lateral' else 'fpn_output'
        return (f'backbone.{name}{int(m.group("level")) + 2}.' +
                _conv_module_key(m.group('rest'), key))
    m = re.match(
        r'^roi_head\.bbox_head\.shared_convs\.(?P<i>\d+)\.'
        r'(?P<rest>.+)$', key)
    if m:
        return (f'roi_heads.box_head.conv{int(m.group("i")) + 1}.' +
                _conv_module_key(m.group('rest'), key))
    m = re.match(
        r'^roi_head\.bbox_head\.shared_fcs\.(?P<i>\d+)\.'
        r'(?P<param>weight|bias)$', key)
    if m:
        return (f'roi_heads.box_head.fc{int(m.group("i")) + 1}.'
                f'{m.group("param")}')
    raise ConversionError(f'"{key}" has no detectron2 counterpart')


def mmdet_to_detectron2(
        state_dict: Dict[str, torch.Tensor],
        arch: str = 'fpn') -> Tuple['OrderedDict[str, np.ndarray]', Counter]:
    """Rename an mmdet state dict to detectron2 names, as numpy arrays.

    Returns:
        ``(model, counts)``: the ``'model'`` entry of detectron2's pickle and
        how many keys were mapped / dropped.
    """
    model: 'OrderedDict[str, np.ndarray]' = OrderedDict()
    counts: Counter = Counter()
    for key, value in state_dict.items():
        name = detectron2_key(key, arch)
        if name is None:
            counts['dropped num_batches_tracked'] += 1
            continue
        if name in model:
            raise ConversionError(f'"{key}" and another key both map to '
                                  f'detectron2 "{name}"')
        model[name] = value.detach().cpu().numpy()
        counts['mapped'] += 1
    return model, counts


def detectron2_checkpoint(model: Dict[str, np.ndarray]) -> dict:
    """The pickle detectron2's ``DetectionCheckpointer`` reads."""
    return {
        'model': dict(model),
        '__author__': 'mmsoco',
        'matching_heuristics': False
    }

"""Backbone-only export of a SoCo / BYOL checkpoint (``docs/method.md`` section 5.1).

For detectors other than the aligned ones, and for torchvision users, only the
ResNet transfers. The C4 variant keeps res5 in ``shared_head.layer4`` (mmdet's
ResLayer); it is put back as ``layer4`` so the export is a whole ResNet.

mmdet's ``ResNet`` (``style='pytorch'``, no deep stem) already uses
torchvision's parameter names, stem included (``conv1``, ``bn1``,
``layer{1-4}.{i}.conv{1-3}`` / ``bn{1-3}`` / ``downsample.{0,1}``), so the
torchvision map is the identity on that grammar; :func:`torchvision_key`
checks each key against it instead of trusting it, and refuses e.g. a deep
stem (``stem.*``), which torchvision's ResNet does not have.
"""
import re
from collections import Counter, OrderedDict
from typing import Dict, Tuple

import torch

from .io import ConversionError
from .soco_to_mmdet import NETS, TARGET_PREFIX

_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
#: torchvision ResNet parameter / buffer names (classifier ``fc`` excluded).
TORCHVISION_RESNET_KEY = re.compile(
    rf'^(conv1\.weight|bn1\.{_BN}|'
    rf'layer[1-4]\.\d+\.(conv[1-3]\.weight|bn[1-3]\.{_BN}|'
    rf'downsample\.0\.weight|downsample\.1\.{_BN}))$')

#: Where a ResNet's parameters live in a SoCo / BYOL model.
BACKBONE_PREFIX = 'backbone.'
RES5_PREFIX = 'shared_head.'  # C4: shared_head.layer4.* is res5


def torchvision_key(mmdet_key: str) -> str:
    """The torchvision ResNet name of an mmdet ResNet key.

    Raises:
        ConversionError: the key has no torchvision counterpart.
    """
    if not TORCHVISION_RESNET_KEY.match(mmdet_key):
        raise ConversionError(
            f'backbone key "{mmdet_key}" has no torchvision ResNet '
            'counterpart (deep stem, plugins or a non-ResNet backbone?)')
    return mmdet_key


def extract_backbone(
    state_dict: Dict[str, torch.Tensor],
    net: str = 'online',
    torchvision: bool = False
) -> Tuple['OrderedDict[str, torch.Tensor]', Counter]:
    """Take the ResNet out of a SoCo / BYOL ``state_dict``.

    Args:
        state_dict: the pretraining model's state dict.
        net: ``'online'`` or ``'target'`` (EMA copy).
        torchvision: check (and emit) torchvision ResNet names.

    Returns:
        ``(backbone_state_dict, counts)`` where the keys have no prefix (what
        an mmdet ``backbone.init_cfg=dict(type='Pretrained', ...)`` or
        torchvision's ``resnet50().load_state_dict(..., strict=False)``
        expects) and ``counts`` says how many keys were kept / dropped per
        source part.

    Raises:
        ConversionError: no backbone keys, or (``torchvision=True``) a key
            torchvision's ResNet does not have.
    """
    if net not in NETS:
        raise ConversionError(f'net must be one of {NETS}, got {net!r}')
    net_prefix = TARGET_PREFIX if net == 'target' else ''
    backbone: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    counts: Counter = Counter()
    for key, value in state_dict.items():
        for prefix in (BACKBONE_PREFIX, RES5_PREFIX):
            if key.startswith(net_prefix + prefix):
                inner = key[len(net_prefix + prefix):]
                if prefix == RES5_PREFIX and not inner.startswith('layer4.'):
                    raise ConversionError(
                        f'"{key}": expected res5 under "{net_prefix}'
                        f'{RES5_PREFIX}layer4."')
                if torchvision:
                    inner = torchvision_key(inner)
                if inner in backbone:
                    raise ConversionError(
                        f'"{key}" collides with a backbone key: the checkpoint'
                        ' has res5 both in the backbone and the shared head')
                backbone[inner] = value
                counts[f'kept {net_prefix}{prefix[:-1]}'] += 1
                break
        else:
            counts[f'dropped {key.split(".", 1)[0]}'] += 1
    if not backbone:
        raise ConversionError(
            f'no "{net_prefix}{BACKBONE_PREFIX}*" keys in the checkpoint')
    return backbone, counts

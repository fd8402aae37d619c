"""SoCo checkpoint -> MMDetection detector weights (``docs/method.md`` section 5.1).

The whole online network transfers: backbone -> detector backbone, FPN ->
neck, 4conv1fc trunk -> the box head's shared convs / fc (C4 variant: res5 ->
``roi_head.shared_head``). Because pretraining builds these parts from the
same ``configs/_base_/models`` settings and the same mmdet modules, conversion
is a pure prefix change (key layout: the SoCo model's docstring,
``mmsoco.models.algorithms.soco``):

========================  ==========================  ========
SoCo key                  mmdet key                   arch
========================  ==========================  ========
``backbone.*``            ``backbone.*``              fpn, c4
``neck.*``                ``neck.*``                  fpn
``bbox_head.*``           ``roi_head.bbox_head.*``    fpn
``shared_head.*``         ``roi_head.shared_head.*``  c4
``projector.*``           dropped                     both
``predictor.*``           dropped                     both
``target.*``              dropped (``net='online'``)  both
``target.steps``          dropped (EMA schedule)      both
========================  ==========================  ========

With ``net='target'`` the EMA copy (``target.backbone.*`` ...) is converted
instead and the online parts are dropped.
"""
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch

from .io import ConversionError

#: SoCo part prefix -> mmdet prefix, per architecture.
PART_PREFIXES = {
    'fpn':
    OrderedDict([('backbone.', 'backbone.'), ('neck.', 'neck.'),
                 ('bbox_head.', 'roi_head.bbox_head.')]),
    'c4':
    OrderedDict([('backbone.', 'backbone.'),
                 ('shared_head.', 'roi_head.shared_head.')]),
}
#: Pretraining-only parts: never transferred.
# 'steps': the EMA schedule's position (``target.steps``), no weight.
PRETRAIN_ONLY_PREFIXES = ('projector.', 'predictor.', 'steps')
TARGET_PREFIX = 'target.'
NETS = ('online', 'target')


@dataclass
class ConversionReport:
    """What a conversion did with every source key."""
    mapped: List[Tuple[str, str]] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    unexpected: List[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f'mapped: {len(self.mapped)} keys']
        # one line per destination part: backbone, neck, roi_head.bbox_head...
        parts = Counter(
            '.'.join(dst.split('.')[:2 if dst.startswith('roi_head.') else 1])
            for _, dst in self.mapped)
        for part, count in sorted(parts.items()):
            lines.append(f'  {part}: {count}')
        lines.append(f'dropped: {sum(self.dropped.values())} keys')
        for part, count in sorted(self.dropped.items()):
            lines.append(f'  {part}: {count}')
        if self.unexpected:
            lines.append(f'unexpected (dropped): {len(self.unexpected)} keys')
            lines.extend(f'  {key}' for key in self.unexpected)
        return '\n'.join(lines)


def _strip_net(key: str, net: str) -> Optional[str]:
    """The key inside network ``net``, or None when it belongs to the other."""
    if net == 'target':
        return key[len(TARGET_PREFIX):] if key.startswith(TARGET_PREFIX) \
            else None
    return None if key.startswith(TARGET_PREFIX) else key


def detect_arch(state_dict: Dict[str, torch.Tensor],
                net: str = 'online') -> str:
    """``'fpn'`` when the network has a neck and a box-head trunk, ``'c4'``
    when it has a res5 shared head.

    Raises:
        ConversionError: neither (e.g. a BYOL checkpoint: backbone only).
    """
    keys = [k for k in (_strip_net(k, net) for k in state_dict) if k]
    if not keys:
        raise ConversionError(f'the checkpoint has no {net} network' + (
            ' ("target.*" keys)' if net == 'target' else ''))
    has = {
        p: any(k.startswith(p) for k in keys)
        for p in ('backbone.', 'neck.', 'bbox_head.', 'shared_head.')
    }
    if has['shared_head.'] and not (has['neck.'] or has['bbox_head.']):
        return 'c4'
    if has['neck.'] or has['bbox_head.']:
        return 'fpn'
    raise ConversionError(
        f'cannot tell the architecture of the {net} network: it has no '
        '"neck.*" / "bbox_head.*" (FPN) and no "shared_head.*" (C4) keys. '
        'A backbone-only checkpoint (e.g. BYOL) can only be converted with '
        'tools/model_converters/extract_backbone.py.')


def soco_to_mmdet(
    state_dict: Dict[str, torch.Tensor],
    net: str = 'online',
    arch: Optional[str] = None
) -> Tuple['OrderedDict[str, torch.Tensor]', ConversionReport]:
    """Map a SoCo ``state_dict`` onto an MMDetection detector's keys.

    Args:
        state_dict: the SoCo model's state dict (checkpoint['state_dict']).
        net: ``'online'`` (default, what the paper transfers) or
            ``'target'`` (the EMA copy).
        arch: ``'fpn'`` or ``'c4'``; detected from the keys when None.

    Returns:
        The converted state dict and a :class:`ConversionReport`.

    Raises:
        ConversionError: unknown ``net`` / ``arch``, or a part the detector
            needs (e.g. ``neck.*`` for FPN) is absent from the checkpoint.
    """
    if net not in NETS:
        raise ConversionError(f'net must be one of {NETS}, got {net!r}')
    if arch is None:
        arch = detect_arch(state_dict, net)
    if arch not in PART_PREFIXES:
        raise ConversionError(
            f'arch must be one of {tuple(PART_PREFIXES)}, got {arch!r}')
    parts = PART_PREFIXES[arch]
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    report = ConversionReport()
    for key, value in state_dict.items():
        inner = _strip_net(key, net)
        if inner is None:
            report.dropped['target' if net == 'online' else 'online'] += 1
            continue
        src_prefix = next((p for p in parts if inner.startswith(p)), None)
        if src_prefix is not None:
            dst = parts[src_prefix] + inner[len(src_prefix):]
            converted[dst] = value
            report.mapped.append((key, dst))
        elif inner.startswith(PRETRAIN_ONLY_PREFIXES):
            report.dropped[inner.split('.', 1)[0]] += 1
        else:
            report.unexpected.append(key)
    net_prefix = TARGET_PREFIX if net == 'target' else ''
    for src_prefix in parts:
        if not any(dst.startswith(parts[src_prefix]) for dst in converted):
            raise ConversionError(
                f'no "{net_prefix}{src_prefix}*" keys in the checkpoint: the '
                f'{arch.upper()} detector needs them (is this a SoCo '
                f'{arch.upper()} checkpoint? a BYOL checkpoint has a backbone '
                'only)')
    return converted, report

"""Backbone checkpoints in common layouts -> SoCo / BYOL keys (``docs/method.md`` section 4.5).

The converters' job in reverse: where ``extract_backbone`` takes the ResNet
out of a SoCo checkpoint, these functions put a backbone from elsewhere into
a SoCo / BYOL model, as pure functions over state dicts (the registered
initialiser, ``mmsoco.models.utils.pretrained_backbone``, is the thin shell
that reads the file and loads the result).

==================  ==========================================  =============
layout              checkpoint keys                             taken
==================  ==========================================  =============
``torchvision``     ``conv1.weight``, ``layer1.0.bn1.*``, ...,  all but the
                    ``fc.*`` (a bare state dict)                classifier
``mmpretrain``      ``backbone.*`` (+ ``neck.*``, ``head.*``,   ``backbone.*``
                    ``data_preprocessor.*``, a target net ...)
``mmsoco_online``   mmsoco SoCo / BYOL: ``backbone.*`` (C4:     the online
                    + ``shared_head.layer4.*``), ``target.*``   ResNet
``mmsoco_target``   the same                                    its EMA copy
==================  ==========================================  =============

``mmpretrain`` covers MMSelfSup's releases (BYOL, MoCo, ...) and any mmdet /
mmpretrain checkpoint whose backbone sits under ``backbone.``. ``'auto'``
picks ``mmsoco_online`` when there are ``target.backbone.*`` keys, else
``mmpretrain`` when there are ``backbone.*`` keys, else ``torchvision`` when
the keys are torchvision ResNet names.

The backbone's weights, under its own names (``layer4.*`` included), are
then placed in the model: ``backbone.<name>``, or for the C4 variant, whose
res5 is the shared head, ``shared_head.layer4.*``. :func:`check_warm_start`
is the one check: it names the model tensors with no source (missing), the
checkpoint's backbone tensors with no place (unexpected), shape mismatches,
and refuses a backbone that loaded nothing (``strict``, the default, also
refuses any missing or unexpected tensor).
"""
import os.path as osp
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch

from .backbone import (BACKBONE_PREFIX, RES5_PREFIX, TORCHVISION_RESNET_KEY,
                       extract_backbone)
from .io import ConversionError, read_checkpoint_file
from .soco_to_mmdet import TARGET_PREFIX

LAYOUTS = ('auto', 'torchvision', 'mmpretrain', 'mmsoco_online',
           'mmsoco_target')
#: torchvision's classifier: dropped, not unexpected.
TORCHVISION_CLASSIFIER = 'fc.'
#: Buffers a checkpoint may lack, never "missing": BN's counter (old
#: torchvision files) and Swin's relative position index (a constant of the
#: window size; a file that has one of another size is still refused).
OPTIONAL_SUFFIXES = ('num_batches_tracked', 'relative_position_index')
#: How many key names a message lists.
NAMED = 8


class WarmStartError(ConversionError):
    """A backbone checkpoint cannot initialise the model; the message names
    the file, the keys and the setting that fixes it."""


@dataclass
class WarmStartReport:
    """Where every backbone tensor of a checkpoint went."""
    layout: str
    loaded: Counter = field(default_factory=Counter)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)

    def format(self) -> str:
        parts = ', '.join(f'{part}: {count}'
                          for part, count in sorted(self.loaded.items()))
        lines = [f'layout {self.layout}; loaded {parts or "nothing"}']
        if self.dropped:
            lines.append('not backbone (left out): ' + ', '.join(
                f'{part}: {count}'
                for part, count in sorted(self.dropped.items())))
        for name, keys in (('missing (model keeps its initialisation)',
                            self.missing), ('unexpected (not loaded)',
                                            self.unexpected),
                           ('shape mismatch', self.mismatched)):
            if keys:
                lines.append(f'{name}: {len(keys)}: ' + _names(keys))
        return '\n'.join(lines)


def _names(keys: List[str]) -> str:
    more = f' ... (+{len(keys) - NAMED})' if len(keys) > NAMED else ''
    return ', '.join(keys[:NAMED]) + more


def unwrap_state_dict(checkpoint, source: str) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint: its ``state_dict`` entry (mmengine,
    mmpretrain) or the checkpoint itself when it is one (torchvision).

    Raises:
        WarmStartError: neither, naming what the file holds.
    """
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict) or not checkpoint or not all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        found = sorted(map(str, checkpoint))[:NAMED] if isinstance(
            checkpoint, dict) else type(checkpoint).__name__
        raise WarmStartError(
            f'{source} holds no state dict of tensors (found {found}); '
            'expected a torchvision state dict or a checkpoint with a '
            '"state_dict" entry (mmengine, mmpretrain, mmsoco)')
    return checkpoint


def load_backbone_checkpoint(filename: str) -> Dict[str, torch.Tensor]:
    """The state dict of a local checkpoint file, read weights only
    (:func:`mmsoco.converters.io.read_checkpoint_file`,
    :func:`unwrap_state_dict`); nothing is downloaded.

    Raises:
        FileNotFoundError: no such file (the message names the setting).
        WarmStartError: a URL, not a torch checkpoint of tensors, or a file
            that needs globals outside the weights-only allow-list (its code
            never runs).
    """
    filename = str(filename)
    if '://' in filename:
        raise WarmStartError(
            'a warm start reads local files only (nothing is downloaded): '
            f'fetch {filename} yourself and set model.init_cfg.checkpoint '
            'to its path')
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'backbone checkpoint {filename} not found: set '
            'model.init_cfg.checkpoint=PATH (or model.init_cfg=None to '
            'start from random weights)')
    return unwrap_state_dict(
        read_checkpoint_file(filename, WarmStartError), filename)


def detect_layout(state_dict: Dict[str, torch.Tensor], source: str) -> str:
    """The layout of ``state_dict`` (see the module docstring)."""
    keys = list(state_dict)
    if any(k.startswith(TARGET_PREFIX + BACKBONE_PREFIX) for k in keys):
        return 'mmsoco_online'
    if any(k.startswith(BACKBONE_PREFIX) for k in keys):
        return 'mmpretrain'
    if any(TORCHVISION_RESNET_KEY.match(k) for k in keys):
        return 'torchvision'
    raise WarmStartError(
        f'cannot tell the layout of {source}: no "backbone.*" keys and no '
        f'torchvision ResNet names (first keys: {_names(sorted(keys))}); '
        f'set the init_cfg\'s layout to one of {LAYOUTS[1:]}')


def _torchvision_weights(state_dict, source):
    weights, dropped = OrderedDict(), Counter()
    prefixed = [k for k in state_dict if k.startswith(BACKBONE_PREFIX)]
    if prefixed:
        raise WarmStartError(
            f'{source} has "backbone.*" keys ({_names(prefixed)}): it is not '
            "a torchvision state dict; use layout='mmpretrain' (or 'auto')")
    for key, value in state_dict.items():
        if key.startswith(TORCHVISION_CLASSIFIER):
            dropped['fc (classifier)'] += 1
        else:  # unknown names reach the model check as unexpected
            weights[key] = value
    if not any(TORCHVISION_RESNET_KEY.match(k) for k in weights):
        raise WarmStartError(
            f'{source} has no torchvision ResNet keys (first keys: '
            f'{_names(sorted(state_dict))}); check the layout setting')
    return weights, dropped


def _prefixed_weights(state_dict, source):
    weights, dropped = OrderedDict(), Counter()
    for key, value in state_dict.items():
        if key.startswith(BACKBONE_PREFIX):
            weights[key[len(BACKBONE_PREFIX):]] = value
        else:
            dropped[key.split('.', 1)[0]] += 1
    if not weights:
        raise WarmStartError(
            f'{source} has no "backbone.*" keys (first keys: '
            f'{_names(sorted(state_dict))}); for a bare torchvision state '
            "dict use layout='torchvision' (or 'auto')")
    return weights, dropped


def _mmsoco_weights(state_dict, source, net):
    if not any(k.startswith(TARGET_PREFIX) for k in state_dict):
        raise WarmStartError(
            f'{source} has no "target.*" keys: not an mmsoco SoCo / BYOL '
            "checkpoint; use layout='mmpretrain' for a plain \"backbone.*\" "
            'one (or \'auto\')')
    try:
        weights, counts = extract_backbone(state_dict, net)
    except ConversionError as err:
        raise WarmStartError(f'{source}: {err}') from None
    dropped = Counter({
        key[len('dropped '):]: n
        for key, n in counts.items() if key.startswith('dropped ')
    })
    return weights, dropped


def backbone_weights(
        state_dict: Dict[str, torch.Tensor], layout: str,
        source: str) -> Tuple['OrderedDict[str, torch.Tensor]', str, Counter]:
    """The backbone's tensors under their own names (``conv1.weight``,
    ``layer4.0.bn1.bias``, ...).

    Returns:
        ``(weights, layout, dropped)``: the layout resolved from ``'auto'``
        and the left-out non-backbone keys counted by their first name.

    Raises:
        WarmStartError: unknown layout, or the keys do not fit it.
    """
    if layout not in LAYOUTS:
        raise WarmStartError(f'layout must be one of {LAYOUTS}, got '
                             f'{layout!r}')
    if layout == 'auto':
        layout = detect_layout(state_dict, source)
    if layout == 'torchvision':
        weights, dropped = _torchvision_weights(state_dict, source)
    elif layout == 'mmpretrain':
        weights, dropped = _prefixed_weights(state_dict, source)
    else:
        weights, dropped = _mmsoco_weights(state_dict, source,
                                           layout[len('mmsoco_'):])
    return weights, layout, dropped


def model_destination(
        model_shapes: Dict[str, torch.Size]) -> Dict[str, torch.Size]:
    """The model tensors a backbone initialises: ``backbone.*`` and (C4) the
    res5 shared head ``shared_head.layer4.*``; never the target's."""
    return {
        k: v
        for k, v in model_shapes.items()
        if k.startswith((BACKBONE_PREFIX, RES5_PREFIX + 'layer4.'))
    }


def place_in_model(
        weights: Dict[str,
                      torch.Tensor], destination: Dict[str,
                                                       torch.Size], layout: str
) -> Tuple['OrderedDict[str, torch.Tensor]', WarmStartReport]:
    """Map backbone ``weights`` onto the model keys of ``destination``
    (:func:`model_destination`): ``backbone.<name>``, else, for res5 kept
    in a C4 shared head, ``shared_head.<name>``."""
    placed = OrderedDict()
    report = WarmStartReport(layout)
    for name, value in weights.items():
        candidates = [BACKBONE_PREFIX + name]
        if name.startswith('layer4.'):
            candidates.append(RES5_PREFIX + name)
        key = next((c for c in candidates if c in destination), None)
        if key is None:
            report.unexpected.append(name)
        elif tuple(value.shape) != tuple(destination[key]):
            report.mismatched.append(
                f'{key}: checkpoint {tuple(value.shape)} vs model '
                f'{tuple(destination[key])}')
        else:
            placed[key] = value
            report.loaded[key.split('.', 1)[0]] += 1
    report.missing = [
        k for k in destination
        if k not in placed and not k.endswith(OPTIONAL_SUFFIXES)
    ]
    return placed, report


def check_warm_start(report: WarmStartReport, strict: bool,
                     source: str) -> None:
    """Refuse a backbone that loaded nothing, a shape mismatch, or (with
    ``strict``) any model tensor without a source or checkpoint backbone
    tensor without a place (e.g. a ResNet-34 into a ResNet-18, whose every
    tensor it has); every list of keys named.

    Raises:
        WarmStartError: the message names the keys and the settings.
    """
    problems = []
    if not report.loaded:
        problems.append('no tensor of the checkpoint fits the model\'s '
                        'backbone (wrong layout or architecture?)')
    if report.mismatched:
        problems.append(f'{len(report.mismatched)} shapes differ: ' +
                        _names(report.mismatched))
    if strict and report.missing:
        problems.append(f'{len(report.missing)} backbone tensors of the model'
                        ' have no source in the checkpoint: ' +
                        _names(report.missing))
    if report.unexpected and (strict or problems):
        problems.append(f'{len(report.unexpected)} checkpoint tensors have no'
                        ' place in the model: ' + _names(report.unexpected))
    if problems:
        raise WarmStartError(
            f'{source} (layout {report.layout}) cannot initialise the '
            'backbone: ' + '; '.join(problems) + '. Check the checkpoint '
            "(depth, style) and init_cfg's layout; strict=False accepts a "
            'backbone that only partly loads.')

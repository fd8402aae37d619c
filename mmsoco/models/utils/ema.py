"""The momentum (EMA) target network of SoCo and BYOL (SOCO_SPEC section 4).

tau_k = 1 - (1 - 0.99) * (cos(pi * k / K) + 1) / 2 after the k-th optimiser
step of K, applied to parameters only: target <- tau * target + (1 - tau) *
online.

Buffers (BN running statistics) are NOT averaged or copied after the
initial copy, as in the reference: the target runs in train mode, normalises
with batch statistics, and its running statistics track its own activations,
which is what they must describe if the target network is ever used in eval
mode (e.g. ``soco2mmdet --net target``). Copying the online statistics would
pair them with different weights.

The position k in the schedule is not stored here: :class:`MomentumUpdateHook`
takes it from the runner's iteration counter, which mmengine checkpoints and
restores, so a resumed run continues the schedule exactly (the reference
restarts it) and the checkpoint keys stay ``target.<module>.*``.
"""
import copy
import math
from typing import Dict

import torch
import torch.nn as nn


def cosine_momentum(step: int,
                    total_steps: int,
                    base_momentum: float = 0.99,
                    end_momentum: float = 1.0) -> float:
    """EMA momentum after ``step`` of ``total_steps`` optimiser steps.

    ``end - (end - base) * (cos(pi * step / total) + 1) / 2``: ``base`` at
    step 0, ``end`` at the last step; ``step`` beyond ``total`` stays at
    ``end``.
    """
    if total_steps <= 0:
        raise ValueError(f'total_steps must be positive, got {total_steps}')
    progress = min(max(step, 0), total_steps) / total_steps
    return end_momentum - (end_momentum - base_momentum) * (
        math.cos(math.pi * progress) + 1) / 2


def build_momentum_target(online: Dict[str, nn.Module]) -> nn.ModuleDict:
    """A frozen deep copy of the named online modules (``target.<name>.*``)."""
    target = nn.ModuleDict(
        {name: copy.deepcopy(module)
         for name, module in online.items()})
    for param in target.parameters():
        param.requires_grad_(False)
    return target


def _paired_tensors(target: nn.Module, online: nn.Module, buffers: bool):
    getter = 'named_buffers' if buffers else 'named_parameters'
    target_items = dict(getattr(target, getter)())
    online_items = dict(getattr(online, getter)())
    if target_items.keys() != online_items.keys():
        missing = sorted(set(online_items) ^ set(target_items))
        raise KeyError(f'target and online networks differ in {missing[:5]}')
    return ([target_items[k] for k in online_items],
            [online_items[k] for k in online_items])


@torch.no_grad()
def momentum_update_(target: nn.Module, online: nn.Module,
                     momentum: float) -> None:
    """In place: target params <- momentum * target + (1 - momentum) * online."""
    target_params, online_params = _paired_tensors(target, online, False)
    if not target_params:
        return
    torch._foreach_mul_(target_params, momentum)
    torch._foreach_add_(target_params, online_params, alpha=1 - momentum)


@torch.no_grad()
def copy_online_to_target_(target: nn.Module, online: nn.Module) -> None:
    """In place: target params and buffers <- online's (initialisation)."""
    for buffers in (False, True):
        target_tensors, online_tensors = _paired_tensors(
            target, online, buffers)
        for dst, src in zip(target_tensors, online_tensors):
            dst.copy_(src)

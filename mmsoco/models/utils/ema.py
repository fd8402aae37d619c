"""The momentum (EMA) target network of SoCo and BYOL (docs/method.md section 4.2).

One object, :class:`CosineEMATarget`, owns the target's modules, its position
in the schedule and its update, as mmpretrain's ``CosineEMA`` does:

    tau_n = end - (end - base) * (cos(pi * n / N) + 1) / 2
    target <- tau_n * target + (1 - tau_n) * online     (parameters only)

after the n-th of N optimiser steps. n is the buffer ``steps``: it is saved
with the model (key ``target.steps``), so a resumed run continues the schedule
exactly (the reference restarts it), and it counts optimiser steps, not
iterations, so gradient accumulation (``accumulative_counts``) does not run
the schedule ahead of the optimiser.

The reference updates at the start of each forward with k = the number of
optimiser steps done so far; updating after step n with tau_n is the same
sequence (its very first update, k = 0, copies the target onto itself).

Buffers (BN running statistics) are NOT averaged or copied after the initial
copy, as in the reference: the target runs in train mode, normalises with
batch statistics, and its running statistics track its own activations.
"""
import copy
import math
from typing import Mapping

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


def optimizer_steps(max_iters: int, accumulative_counts: int = 1) -> int:
    """Optimiser steps in ``max_iters`` iterations accumulating gradients
    over ``accumulative_counts`` iterations (mmengine steps on the last,
    partial window too)."""
    return math.ceil(max_iters / max(int(accumulative_counts), 1))


def accumulative_counts(optim_wrapper) -> int:
    """Iterations per optimiser step of an mmengine ``OptimWrapper``."""
    return max(int(getattr(optim_wrapper, '_accumulative_counts', 1)), 1)


class CosineEMATarget(nn.ModuleDict):
    """A frozen copy of named online modules, updated by cosine-momentum EMA.

    SoCo (https://arxiv.org/abs/2106.02637), docs/method.md section 4.2:
    the target network is the exponential moving average of the online network without
    its predictor. Its children keep the online names, so the state-dict
    keys are ``target.<name>.*`` (the converters' contract) plus
    ``target.steps``.

    Args:
        online (Mapping[str, nn.Module]): The online modules to mirror.
        base_momentum (float): tau at step 0. Defaults to 0.99.
        end_momentum (float): tau at the last step. Defaults to 1.0.
    """

    def __init__(self,
                 online: Mapping[str, nn.Module],
                 base_momentum: float = 0.99,
                 end_momentum: float = 1.0) -> None:
        if not 0 <= base_momentum <= end_momentum <= 1:
            raise ValueError('need 0 <= base_momentum <= end_momentum <= 1, '
                             f'got {base_momentum}, {end_momentum}')
        super().__init__({
            name: copy.deepcopy(module)
            for name, module in online.items()
        })
        for param in self.parameters():
            param.requires_grad_(False)
        self.base_momentum = base_momentum
        self.end_momentum = end_momentum
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))

    def momentum(self, total_steps: int) -> float:
        """tau after the optimiser steps counted so far."""
        return cosine_momentum(
            int(self.steps), total_steps, self.base_momentum,
            self.end_momentum)

    @torch.no_grad()
    def step(self, online: Mapping[str, nn.Module], total_steps: int) -> float:
        """Count one optimiser step and move the parameters towards
        ``online``'s.

        Returns:
            float: The momentum used.
        """
        self.steps += 1
        momentum = self.momentum(total_steps)
        target_params, online_params = self._paired(online, 'parameters')
        if target_params:
            torch._foreach_mul_(target_params, momentum)
            torch._foreach_add_(
                target_params, online_params, alpha=1 - momentum)
        return momentum

    @torch.no_grad()
    def reset(self, online: Mapping[str, nn.Module]) -> None:
        """Copy ``online``'s parameters and buffers; restart the schedule."""
        for kind in ('parameters', 'buffers'):
            for dst, src in zip(*self._paired(online, kind)):
                dst.copy_(src)
        self.steps.zero_()

    def _paired(self, online: Mapping[str, nn.Module], kind: str):
        """Target and online tensors of ``kind``, matched by name."""
        targets, sources = [], []
        for name, module in online.items():
            mine = dict(getattr(self[name], f'named_{kind}')())
            theirs = dict(getattr(module, f'named_{kind}')())
            if mine.keys() != theirs.keys():
                diff = sorted(set(mine) ^ set(theirs))[:5]
                raise KeyError(f'target.{name} and the online {name} differ '
                               f'in {diff}')
            targets += [mine[key] for key in theirs]
            sources += [theirs[key] for key in theirs]
        return targets, sources

"""LARS over SGD with momentum, SoCo's optimiser (docs/method.md section 4.3).

Per parameter p with gradient g (reference semantics):
g <- g + wd * p; unless the param group says ``lars_exclude=True``,
g <- g * trust * ||p|| / (||g|| + eps) (when both norms are positive); then
SGD with momentum: buf <- momentum * buf + g, p <- p - lr * buf.

BN and bias parameters are excluded from decay and scaling through mmengine's
``paramwise_cfg``: ``custom_keys={'bn': dict(decay_mult=0, lars_exclude=True),
'bias': ...}``. mmengine's ``DefaultOptimWrapperConstructor`` copies every
field of a matching custom key into the parameter group, which is how
``lars_exclude`` reaches :meth:`LARS.step`.
"""
from typing import Callable, Iterable, Optional

import torch
from torch.optim.optimizer import Optimizer

from mmsoco.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class LARS(Optimizer):
    """Layer-wise Adaptive Rate Scaling (You et al., 2017) on SGD + momentum.

    SoCo (https://arxiv.org/abs/2106.02637), the optimiser:
    docs/method.md section 4.3.

    Args:
        params: Parameters or parameter groups; a group may set
            ``lars_exclude=True`` to skip the trust-ratio scaling.
        lr (float): Learning rate.
        momentum (float): SGD momentum. Defaults to 0.9.
        weight_decay (float): Weight decay, added to the gradient before the
            trust ratio. Defaults to 0.
        trust_coefficient (float): eta of the trust ratio. Defaults to 0.001.
        eps (float): Added to the gradient norm. Defaults to 1e-8.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float,
                 momentum: float = 0.9,
                 weight_decay: float = 0.,
                 trust_coefficient: float = 0.001,
                 eps: float = 1e-8) -> None:
        if lr < 0:
            raise ValueError(f'Invalid learning rate: {lr}')
        if momentum < 0:
            raise ValueError(f'Invalid momentum: {momentum}')
        if weight_decay < 0:
            raise ValueError(f'Invalid weight_decay: {weight_decay}')
        if trust_coefficient < 0:
            raise ValueError(f'Invalid trust_coefficient: {trust_coefficient}')
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            lars_exclude=False)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Optional[Callable] = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                update = lars_direction(p, p.grad, group['weight_decay'],
                                        group['trust_coefficient'],
                                        group['eps'], group['lars_exclude'])
                if group['momentum'] != 0:
                    state = self.state[p]
                    if 'momentum_buffer' not in state:
                        state['momentum_buffer'] = update.clone()
                    else:
                        state['momentum_buffer'].mul_(
                            group['momentum']).add_(update)
                    update = state['momentum_buffer']
                p.add_(update, alpha=-group['lr'])
        return loss


def lars_direction(param: torch.Tensor, grad: torch.Tensor,
                   weight_decay: float, trust_coefficient: float, eps: float,
                   exclude: bool) -> torch.Tensor:
    """The gradient after weight decay and (unless ``exclude``) trust scaling."""
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    if exclude:
        return grad
    param_norm = torch.linalg.vector_norm(param)
    grad_norm = torch.linalg.vector_norm(grad)
    ratio = torch.where((param_norm > 0) & (grad_norm > 0),
                        trust_coefficient * param_norm / (grad_norm + eps),
                        torch.ones_like(param_norm))
    return grad.mul(ratio)

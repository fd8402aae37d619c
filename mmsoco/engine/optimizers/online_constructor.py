"""The optimiser's parameters: the online network only (docs/method.md
section 4.3).

The EMA target (:class:`~mmsoco.models.utils.ema.CosineEMATarget`) is a
frozen copy moved by momentum after each optimiser step, never by the
optimiser. mmengine's ``DefaultOptimWrapperConstructor`` skips frozen
parameters but warns once per tensor ("target.* is skipped since its
requires_grad=False"): ~200 warnings per SoCo run, in the console and the log
file, that bury any warning that matters. Here the target is left out as a
whole, with one info line; every other frozen parameter still gets mmengine's
warning, since a frozen online parameter is not expected.
"""
from typing import List, Optional, Union

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmsoco.models.utils.ema import CosineEMATarget
from mmsoco.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class OnlineNetworkOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, leaving the EMA target out quietly.

    SoCo (https://arxiv.org/abs/2106.02637), the optimiser over the online
    network (the target follows it by momentum): docs/method.md sections 4.2
    and 4.3. Every other rule (``paramwise_cfg``: custom keys, decay
    multipliers, ``lars_exclude``) is mmengine's; use it as
    ``optim_wrapper = dict(constructor='OnlineNetworkOptimWrapperConstructor',
    ...)``.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        self._left_out: List[str] = []
        optim_wrapper = super().__call__(model)
        if self._left_out:
            print_log(
                'optimizer: the EMA target (' + ', '.join(self._left_out) +
                ') is left out; it moves by momentum after each step '
                '(MomentumUpdateHook)', 'current')
        return optim_wrapper

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        if isinstance(module, CosineEMATarget):
            trainable = [
                f'{prefix}.{name}' for name, p in module.named_parameters()
                if p.requires_grad
            ]
            if trainable:
                raise ValueError(
                    f'the EMA target must be frozen, but {trainable[0]} '
                    f'requires grad ({len(trainable)} such parameters)')
            count = sum(1 for _ in module.parameters())
            self._left_out.append(f'{prefix}.*: {count} parameter tensors')
            return
        super().add_params(params, module, prefix, is_dcn_module)

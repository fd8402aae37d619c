"""The optimiser's parameters: the online network only (docs/method.md
section 4.3).

The EMA target (:class:`~mmsoco.models.utils.ema.CosineEMATarget`) is a
frozen copy moved by momentum after each optimiser step, never by the
optimiser. mmengine's ``DefaultOptimWrapperConstructor`` skips frozen
parameters but warns once per tensor ("target.* is skipped since its
requires_grad=False"): ~200 warnings per SoCo run, in the console and the log
file, that bury any warning that matters. Here the target is left out as a
whole, with one info line, and the online network's frozen parameters (a
warm start's ``frozen_stages``, or a mistake) are named in one warning line
instead of one line each.
"""
import logging
import re
from typing import List, Optional, Union

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmsoco.models.utils.ema import CosineEMATarget
from mmsoco.registry import OPTIM_WRAPPER_CONSTRUCTORS

#: mmengine's per-tensor message for a parameter it leaves out.
_SKIPPED = re.compile(r'^\.?(\S+) is skipped since its requires_grad=False$')
#: Frozen parameters named in the summary line; the rest are counted.
_NAMED = 5


class _FrozenParameters(logging.Filter):
    """Takes mmengine's "is skipped since its requires_grad=False" records
    out of the log and keeps the parameter names."""

    def __init__(self) -> None:
        super().__init__()
        self.names: List[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        match = _SKIPPED.match(record.getMessage())
        if match is None:
            return True
        self.names.append(match.group(1))
        return False


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class OnlineNetworkOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, leaving the EMA target out quietly.

    SoCo (https://arxiv.org/abs/2106.02637), the optimiser over the online
    network (the target follows it by momentum): docs/method.md sections 4.2
    and 4.3. Every other rule (``paramwise_cfg``: custom keys, decay
    multipliers, ``lars_exclude``) is mmengine's; use it as
    ``optim_wrapper = dict(constructor='OnlineNetworkOptimWrapperConstructor',
    ...)``. Frozen online parameters are left out as mmengine does, named in
    one warning.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        self._left_out: List[str] = []
        frozen = _FrozenParameters()
        logger = MMLogger.get_current_instance()
        logger.addFilter(frozen)
        try:
            optim_wrapper = super().__call__(model)
        finally:
            logger.removeFilter(frozen)
        if self._left_out:
            print_log(
                'optimizer: the EMA target (' + ', '.join(self._left_out) +
                ') is left out; it moves by momentum after each step '
                '(MomentumUpdateHook)', 'current')
        if frozen.names:
            more = len(frozen.names) - _NAMED
            print_log(
                f'optimizer: {len(frozen.names)} frozen online parameter '
                'tensor(s) are not optimised (requires_grad=False, e.g. the '
                "backbone's frozen_stages): " +
                ', '.join(frozen.names[:_NAMED]) +
                (f' and {more} more' if more > 0 else ''),
                'current',
                level=logging.WARNING)
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

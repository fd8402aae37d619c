"""Learning-rate factors per model part, on top of LARS's groups (docs/method.md section 4.5).

A warm start may train the loaded backbone slower than the parts that start
from random weights. mmengine's ``custom_keys`` cannot say so here: it
applies only the longest key a parameter name contains, so a ``'backbone'``
key would replace the ``'bn'`` / ``'bias'`` keys that exclude the backbone's
BN and bias parameters from LARS's decay and trust ratio
(``configs/_base_/schedules/lars_coslr_100e.py``). This constructor builds
the groups exactly as mmengine does, then multiplies the learning rate of
every parameter under a named module by that module's factor:

    paramwise_cfg=dict(custom_keys={...}, prefix_lr_mult=dict(backbone=0.1))

The warm-up keeps the factor exactly (``LinearWarmupLR`` multiplies every
group's lr by one factor). The cosine decay does not at its end:
``CosineAnnealingLR`` takes each group from its own initial lr ``f * lr`` to
the recipes' absolute ``eta_min=1e-6``, ``eta_min + (f * lr - eta_min) * c``
with ``c = (1 + cos(pi t / T)) / 2``, so a group's ratio to the full-rate
groups is ``f`` only while ``c * lr`` is large against ``eta_min`` and goes
to 1 as every group reaches ``eta_min`` in the last iterations. The EMA
target is left out as :class:`OnlineNetworkOptimWrapperConstructor` does.
"""
from typing import Dict, List, Optional

import torch.nn as nn

from mmsoco.registry import OPTIM_WRAPPER_CONSTRUCTORS
from .online_constructor import OnlineNetworkOptimWrapperConstructor


def lr_mult_of(name: str, prefix_lr_mult: Dict[str, float]) -> float:
    """The factor of parameter ``name``: that of the longest module path in
    ``prefix_lr_mult`` it is under (``'backbone'`` covers
    ``'backbone.conv1.weight'``, not ``'backbone2.w'``), else 1."""
    under = [
        prefix for prefix in prefix_lr_mult
        if name == prefix or name.startswith(prefix + '.')
    ]
    return prefix_lr_mult[max(under, key=len)] if under else 1.0


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PrefixLrMultConstructor(OnlineNetworkOptimWrapperConstructor):
    """The online network's constructor plus ``paramwise_cfg.prefix_lr_mult``.

    SoCo (https://arxiv.org/abs/2106.02637) trains every part at one
    learning rate from random weights; this is the optimiser side of
    mmsoco's warm start (docs/method.md section 4.5): a learning-rate factor
    per model part (e.g. the loaded backbone), kept apart from the LARS
    exclusions of ``custom_keys``.

    Args:
        optim_wrapper_cfg (dict): As mmengine's.
        paramwise_cfg (dict, optional): As mmengine's, plus
            ``prefix_lr_mult``: ``{module path: factor}``, factors >= 0.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        mults = dict(paramwise_cfg.pop('prefix_lr_mult', None) or {})
        for prefix, mult in mults.items():
            if not isinstance(mult, (int, float)) or mult < 0:
                raise ValueError(f'prefix_lr_mult[{prefix!r}] must be a '
                                 f'number >= 0, got {mult!r}')
        if mults and not paramwise_cfg:
            # an empty paramwise_cfg makes mmengine skip add_params
            paramwise_cfg = dict(custom_keys={})
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self.prefix_lr_mult = mults

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        first = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix or not self.prefix_lr_mult:
            return  # the top-level call applies the factors once
        names = {id(p): name for name, p in module.named_parameters()}
        for group in params[first:]:
            mult = lr_mult_of(names[id(group['params'][0])],
                              self.prefix_lr_mult)
            if mult != 1.0:
                group['lr'] = group.get('lr', self.base_lr) * mult

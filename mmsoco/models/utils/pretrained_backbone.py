"""Warm start: a SoCo / BYOL model's backbone from a checkpoint (docs/method.md section 4.5).

``model.init_cfg = dict(type='PretrainedBackbone', checkpoint=PATH)`` on a
SoCo or BYOL model. :meth:`BaseMomentumModel.init_weights` applies it after
every part has had its recipe initialisation and before the EMA target is
copied from the online network, so the target starts equal to the loaded
online network and the FPN, head, projector and predictor start exactly as
without a checkpoint. Reading the file (weights only, local files only),
the key maps and the check are :mod:`mmsoco.converters.warm_start`'s; this
is the shell that loads the result into the model.
"""
from mmengine.logging import print_log

from mmsoco.converters.warm_start import (LAYOUTS, backbone_weights,
                                          check_warm_start,
                                          load_backbone_checkpoint,
                                          model_destination, place_in_model)
from mmsoco.registry import WEIGHT_INITIALIZERS

#: The type name configs use; :func:`split_warm_start` looks for it.
WARM_START_TYPE = 'PretrainedBackbone'


@WEIGHT_INITIALIZERS.register_module(name=WARM_START_TYPE)
class PretrainedBackbone:
    """Load a backbone checkpoint into a SoCo / BYOL model, checked.

    SoCo (https://arxiv.org/abs/2106.02637) pretrains from random weights;
    this is mmsoco's warm start (docs/method.md section 4.5): the backbone
    (C4: backbone and res5 shared head) from a torchvision, mmpretrain /
    MMSelfSup or mmsoco checkpoint.

    Args:
        checkpoint (str): A local file (nothing is downloaded).
        layout (str): ``'auto'``, ``'torchvision'``, ``'mmpretrain'``,
            ``'mmsoco_online'`` or ``'mmsoco_target'``
            (:mod:`mmsoco.converters.warm_start`). Defaults to ``'auto'``.
        strict (bool): Refuse a model backbone tensor without a source and
            a checkpoint backbone tensor without a place. Defaults to True.
            A backbone that loads nothing, or a shape mismatch, is always
            refused.
    """

    def __init__(self,
                 checkpoint: str,
                 layout: str = 'auto',
                 strict: bool = True) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f'{WARM_START_TYPE}: layout must be one of '
                             f'{LAYOUTS}, got {layout!r}')
        self.checkpoint = checkpoint
        self.layout = layout
        self.strict = strict

    def __call__(self, model) -> None:
        if not hasattr(model, 'backbone'):
            raise TypeError(
                f'{WARM_START_TYPE} initialises a SoCo / BYOL model (its '
                f'model.init_cfg), not a {type(model).__name__}')
        source = str(self.checkpoint)
        weights, layout, dropped = backbone_weights(
            load_backbone_checkpoint(source), self.layout, source)
        destination = model_destination({
            k: v.shape
            for k, v in model.state_dict().items()
        })
        placed, report = place_in_model(weights, destination, layout)
        report.dropped = dropped
        check_warm_start(report, self.strict, source)
        missing, unexpected = model.load_state_dict(placed, strict=False)
        assert not unexpected, unexpected  # placed keys are the model's own
        # mmengine logs every parameter's init info when the model's own
        # init_weights ends, before this warm start runs (it must follow the
        # children's initialisation), and drops the record then: the line
        # says which entries of that log it overrides.
        parts = ', '.join(f'{part}.*' for part in sorted(report.loaded))
        print_log(
            f'{WARM_START_TYPE}: {source} loaded into {parts}, after the '
            'init info logged above: for these tensors it overrides that '
            f'record (the recipe\'s initialisation)\n{report.format()}',
            logger='current')


def _is_warm_start_type(type_) -> bool:
    """``PretrainedBackbone``, its class, or a scoped name of it
    (``'mmsoco.PretrainedBackbone'``): each must reach the warm start, not
    mmengine's initialiser (which would load it before the children's own
    init overwrites it)."""
    if type_ is PretrainedBackbone:
        return True
    return isinstance(type_, str) and \
        type_.rsplit('.', 1)[-1] == WARM_START_TYPE


def split_warm_start(init_cfg):
    """``(warm_start_cfgs, other_init_cfg)`` of a module's ``init_cfg``
    (None, a dict or a list of dicts); the rest is None when empty."""
    if init_cfg is None:
        return [], None
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    is_warm = [_is_warm_start_type(cfg.get('type')) for cfg in cfgs]
    rest = [cfg for cfg, warm in zip(cfgs, is_warm) if not warm]
    warm = [cfg for cfg, warm in zip(cfgs, is_warm) if warm]
    if isinstance(init_cfg, dict):
        return warm, (rest[0] if rest else None)
    return warm, (rest or None)

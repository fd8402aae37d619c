"""What SoCo and its image-level baseline (BYOL) share (docs/method.md section 4).

An online network with a predictor, a momentum target without it
(:class:`~mmsoco.models.utils.CosineEMATarget`, which owns its schedule and
its update; ``MomentumUpdateHook`` calls it after each optimiser step), and a
symmetric regression loss over the configured view pairs.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from mmsoco.models.utils.box_sets import MatchedRows
from mmsoco.models.utils.ema import CosineEMATarget, accumulative_counts
from mmsoco.models.utils.pretrained_backbone import split_warm_start
from mmsoco.registry import MODELS, WEIGHT_INITIALIZERS


class BaseMomentumModel(BaseModel):
    """Online network + predictor, EMA target, symmetric loss over view pairs.

    Subclasses build their online parts, then call :meth:`_init_target` with
    the names of the parts the target copies (everything but the predictor),
    and implement :meth:`loss`.

    Args:
        loss (dict): Regression loss config. Defaults to
            ``CosineSimilarityLoss``.
        base_momentum (float): EMA momentum at step 0. Defaults to 0.99.
        end_momentum (float): EMA momentum at the last step. Defaults to 1.
        view_pairs (Sequence[tuple], optional): Pairs of views to contrast
            when the data samples do not say (they normally do, in their
            ``view_pairs`` metainfo). Defaults to (0, i) for every other view.
        data_preprocessor (dict, optional): e.g. ``SoCoDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config; an entry
            ``dict(type='PretrainedBackbone', checkpoint=...)`` starts the
            backbone from a checkpoint (warm start, :meth:`init_weights`).
    """

    def __init__(self,
                 loss: dict = dict(type='CosineSimilarityLoss'),
                 base_momentum: float = 0.99,
                 end_momentum: float = 1.0,
                 view_pairs: Optional[Sequence[Tuple[int, int]]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.criterion = MODELS.build(loss)
        self.base_momentum = base_momentum
        self.end_momentum = end_momentum
        self.default_view_pairs = None if view_pairs is None else [
            tuple(pair) for pair in view_pairs
        ]
        self._target_names: Tuple[str, ...] = ()
        self._steps_without_update = 0

    # ----------------------------------------------------------- target ---
    def _init_target(self, names: Sequence[str]) -> None:
        self._target_names = tuple(names)
        self.target = CosineEMATarget(self._online_parts(), self.base_momentum,
                                      self.end_momentum)

    def _online_parts(self) -> nn.ModuleDict:
        """The online modules the target mirrors, under the target's names."""
        return nn.ModuleDict(
            OrderedDict(
                (name, getattr(self, name)) for name in self._target_names))

    def init_weights(self) -> None:
        """Initialise the online network as the recipe says, then (warm
        start) load the backbone checkpoint over it, then start the target
        as the online network's copy.

        mmengine applies a module's own ``init_cfg`` entries (all but
        ``Pretrained``) before its children initialise themselves, which
        would overwrite a loaded backbone; the ``PretrainedBackbone`` entries
        are therefore held back and applied here, after every part has its
        recipe initialisation (so the FPN, head, projector and predictor
        start exactly as without a checkpoint) and before the target copy.
        """
        configured = self.init_cfg
        warm_starts, self.init_cfg = split_warm_start(configured)
        try:
            super().init_weights()
        finally:
            self.init_cfg = configured
        self._finish_recipe_init()
        for cfg in warm_starts:
            WEIGHT_INITIALIZERS.build(dict(cfg, _scope_='mmsoco'))(self)
        self.target.reset(self._online_parts())

    def _finish_recipe_init(self) -> None:
        """Recipe initialisation no child's ``init_cfg`` expresses (after
        mmengine's, before a warm start); subclasses add theirs."""

    def update_target(self, total_steps: int) -> float:
        """One EMA step after an optimiser step (of ``total_steps``).

        Returns:
            float: The momentum used.
        """
        self._steps_without_update = 0
        return self.target.step(self._online_parts(), total_steps)

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        if self._steps_without_update == accumulative_counts(optim_wrapper):
            # A config without MomentumUpdateHook would train against a
            # frozen random target without any error: say so, once (the hook
            # updates after every optimiser step, i.e. every
            # accumulative_counts train steps).
            print_log(
                f'{type(self).__name__}: the target network was not updated '
                'after the last train step; add dict(type='
                "'MomentumUpdateHook') to custom_hooks.",
                logger='current',
                level=30)
        self._steps_without_update += 1
        return super().train_step(data, optim_wrapper)

    # ------------------------------------------------------------ views ---
    def view_pairs(self, data_samples: Optional[list],
                   num_views: int) -> List[Tuple[int, int]]:
        """The contrasted view pairs: the samples' ``view_pairs`` metainfo."""
        pairs = None
        if data_samples:
            pairs = data_samples[0].metainfo.get('view_pairs', None)
            for sample in data_samples[1:]:
                other = sample.metainfo.get('view_pairs', None)
                if other is not None and [tuple(p) for p in other] != \
                        [tuple(p) for p in pairs]:
                    raise ValueError(
                        'all samples of a batch must share view_pairs; '
                        f'{sample.metainfo.get("img_path", "?")} has {other} '
                        f'but the first sample has {pairs}')
        if pairs is None:
            pairs = self.default_view_pairs or [(0, v)
                                                for v in range(1, num_views)]
        pairs = [tuple(int(i) for i in pair) for pair in pairs]
        for a, b in pairs:
            if not (0 <= a < num_views and 0 <= b < num_views) or a == b:
                raise ValueError(f'view pair {(a, b)} is invalid for '
                                 f'{num_views} views')
        return pairs

    def symmetric_pair_losses(self, a: int, b: int, pred_a: Tensor,
                              proj_a: Tensor, pred_b: Tensor, proj_b: Tensor,
                              rows: MatchedRows,
                              num_images: int) -> Dict[str, Tensor]:
        """``loss_v{a}_v{b}`` and ``loss_v{b}_v{a}`` over the matched rows.

        ``pred_a`` / ``proj_a`` are the online predictions / target
        projections of view a's rows (``rows.first`` indexes them), likewise
        for b (``rows.second``); the loss is normalised per image.
        """
        return {
            f'loss_v{a}_v{b}':
            self.criterion(pred_a[rows.first], proj_b[rows.second], rows.image,
                           num_images),
            f'loss_v{b}_v{a}':
            self.criterion(pred_b[rows.second], proj_a[rows.first], rows.image,
                           num_images),
        }

    def forward(self,
                inputs: List[Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``mode='loss'``: dict of losses; ``'tensor'``: online embeddings."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        raise RuntimeError(
            f'{type(self).__name__} is a pretraining model and has no '
            f'{mode!r} mode; convert its checkpoint to a detector instead '
            '(tools/model_converters/soco2mmdet.py).')

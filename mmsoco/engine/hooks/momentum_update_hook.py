"""Calls the EMA target's update after each optimiser step (docs/method.md section 4.2).

The schedule and the update belong to :class:`~mmsoco.models.utils.
CosineEMATarget` (the model's ``target``); this hook only supplies what the
runner knows: whether the iteration's ``update_params`` stepped the optimiser
(it does not while accumulating gradients) and the schedule's length K. It
runs after the optimiser step of each iteration and before the checkpoint
hook (NORMAL priority < VERY_LOW), so a saved checkpoint holds the updated
target.
"""

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from mmsoco.models.utils.ema import accumulative_counts, optimizer_steps
from mmsoco.registry import HOOKS

SCHEDULE_LENGTHS = ('run', 'reference')


def reference_schedule_length(num_images: int, world_size: int,
                              batch_size: int, epochs: int) -> int:
    """The reference's K: ``int(N / world / batch * epochs)``
    (``contrast/models/SoCo_FPN.py:93``), which also counts the partial last
    batch of each epoch that its loader drops: K can exceed the steps the
    run takes, and the momentum then stops short of 1."""
    return int(num_images * 1. / world_size / batch_size * epochs)


@HOOKS.register_module()
class MomentumUpdateHook(Hook):
    """After every optimiser step: ``model.update_target(K)``.

    SoCo (https://arxiv.org/abs/2106.02637), the momentum target:
    docs/method.md section 4.2. The target network follows the online one
    by EMA with cosine-increasing momentum over K optimiser steps. The
    momentum used is logged as ``momentum``.

    Args:
        schedule_length (str): how K is counted. ``'run'``: the optimiser
            steps the run takes (the momentum reaches its end value at the
            last one; iteration- or epoch-based, gradient accumulation
            respected). ``'reference'``: the reference's
            :func:`reference_schedule_length` from the dataset size, the
            world size, the per-GPU batch and the epochs (epoch-based runs
            without gradient accumulation; the SoCo recipes'). The two agree
            when the batches divide the dataset; for ImageNet at 2048 per
            step K differs by 0.09% (docs/reference_parity.md row 22).
    """

    priority = 'NORMAL'

    def __init__(self, schedule_length: str = 'run') -> None:
        if schedule_length not in SCHEDULE_LENGTHS:
            raise ValueError(f'schedule_length must be one of '
                             f'{SCHEDULE_LENGTHS}, got {schedule_length!r}')
        self.schedule_length = schedule_length
        self.total_steps = None

    def before_train(self, runner) -> None:
        counts = accumulative_counts(runner.optim_wrapper)
        if self.schedule_length == 'run':
            self.total_steps = optimizer_steps(runner.max_iters, counts)
            return
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) or counts != 1:
            raise ValueError(
                "MomentumUpdateHook(schedule_length='reference') counts K "
                'from epochs, as the reference (no gradient accumulation): '
                'use an epoch-based train loop without accumulative_counts, '
                "or schedule_length='run'")
        loader = runner.train_dataloader
        self.total_steps = reference_schedule_length(
            len(loader.dataset), get_world_size(), loader.batch_size,
            loop.max_epochs)
        if self.total_steps < 1:
            raise ValueError(
                f'MomentumUpdateHook: {len(loader.dataset)} images give no '
                f'step at batch {loader.batch_size} x {get_world_size()} '
                'process(es)')
        runner.logger.info(
            f'EMA schedule length K = {self.total_steps} (the reference\'s '
            f'count; the run takes {runner.max_iters} steps)')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        optim_wrapper = runner.optim_wrapper
        if not optim_wrapper.should_update():
            return  # accumulating: this iteration did not step
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        momentum = model.update_target(self.total_steps)
        runner.message_hub.update_scalar('train/momentum', momentum)

"""Drives the EMA target's cosine momentum schedule (SOCO_SPEC section 4).

A hook rather than code in ``train_step`` because the schedule's two numbers
belong to the runner: k is ``runner.iter`` (checkpointed and restored by
mmengine, so ``--resume`` continues the schedule exactly, the reference's bug)
and K is ``runner.max_iters`` (known only once the dataset and batch size are).
It runs after the optimiser step of each iteration and before the checkpoint
hook (NORMAL priority < VERY_LOW), so a saved checkpoint holds the updated
target.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsoco.registry import HOOKS


@HOOKS.register_module()
class MomentumUpdateHook(Hook):
    """After every train iteration: ``model.update_target(k, K)``.

    k = runner.iter + 1 optimiser steps done, K = runner.max_iters. The model
    (``SoCo``, ``BYOL``) computes tau_k with its own base / end momentum;
    the hook logs it as ``momentum``.
    """

    priority = 'NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        momentum = model.update_target(runner.iter + 1, runner.max_iters)
        runner.message_hub.update_scalar('train/momentum', momentum)

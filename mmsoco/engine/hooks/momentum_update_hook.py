"""Calls the EMA target's update after each optimiser step (docs/method.md section 4.2).

The schedule and the update belong to :class:`~mmsoco.models.utils.
CosineEMATarget` (the model's ``target``); this hook only supplies what the
runner knows: whether the iteration's ``update_params`` stepped the optimiser
(it does not while accumulating gradients) and the total number of optimiser
steps. It runs after the optimiser step of each iteration and before the
checkpoint hook (NORMAL priority < VERY_LOW), so a saved checkpoint holds the
updated target.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsoco.models.utils.ema import accumulative_counts, optimizer_steps
from mmsoco.registry import HOOKS


@HOOKS.register_module()
class MomentumUpdateHook(Hook):
    """After every optimiser step: ``model.update_target(total_steps)``.

    SoCo (https://arxiv.org/abs/2106.02637), the momentum target:
    docs/method.md section 4.2. The target network follows the online one
    by EMA with cosine-increasing momentum. The
    momentum used is logged as ``momentum``.
    """

    priority = 'NORMAL'

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
        total = optimizer_steps(runner.max_iters,
                                accumulative_counts(optim_wrapper))
        momentum = model.update_target(total)
        runner.message_hub.update_scalar('train/momentum', momentum)

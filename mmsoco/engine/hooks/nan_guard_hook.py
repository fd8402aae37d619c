"""Stops a run at the first non-finite loss, before anything saves it.

A NaN or inf loss has already reached the weights by the time the hooks run
(the optimiser stepped on its gradients), and every later iteration trains a
broken model. mmdet's ``CheckInvalidLossHook`` asserts on the total only,
every 50 iterations by default; this hook checks every iteration, names the
iteration and each non-finite loss term, and points at the last checkpoint.

Priority ``ABOVE_NORMAL`` (40): it runs after ``RuntimeInfoHook`` (VERY_HIGH)
and before ``MomentumUpdateHook`` (NORMAL, which would fold the bad weights
into the EMA target), ``LoggerHook`` (BELOW_NORMAL), ``ParamSchedulerHook``
(LOW) and, above all, ``CheckpointHook`` (VERY_LOW): the error is raised
before the checkpoint of the bad iteration can be written, so the newest
checkpoint on disk is the last good state.
"""
import math
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmsoco.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or inf."""


def non_finite_loss_terms(log_vars: Dict[str, object]) -> Dict[str, float]:
    """The loss terms of ``log_vars`` that are not finite, as floats.

    Loss terms are ``loss`` and every key containing ``loss`` (what
    mmengine's ``parse_losses`` sums); logged read-outs such as
    ``dropped_boxes`` or ``proj_std`` are not checked (a read-out may be NaN
    by definition, e.g. a statistic of an empty set).
    """
    bad = {}
    for name, value in log_vars.items():
        if 'loss' not in name:
            continue
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
            shown = float(value.detach().float().mean()) \
                if value.numel() else float('nan')
        else:
            shown = float(value)
            finite = math.isfinite(shown)
        if not finite:
            bad[name] = shown
    return bad


@HOOKS.register_module()
class NanGuardHook(Hook):
    """After each train iteration: raise if a loss term is NaN or inf.

    SoCo (https://arxiv.org/abs/2106.02637), a guard of the pretraining run:
    docs/method.md section 4.

    In distributed runs the verdict is all-reduced (one scalar per
    iteration), so every rank stops at the same iteration instead of the
    healthy ranks waiting forever on the stopped one.

    Raises:
        NonFiniteLossError: names the iteration (and epoch/batch), the
            non-finite terms on this rank, how many ranks saw one, and the
            last checkpoint written.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        bad = non_finite_loss_terms(outputs)
        rank, world_size = get_dist_info()
        bad_ranks = len(bad)
        if world_size > 1:
            device = next(
                (v.device
                 for v in outputs.values() if isinstance(v, torch.Tensor)),
                torch.device('cpu'))
            flag = torch.tensor(float(bool(bad)), device=device)
            all_reduce(flag, op='sum')
            bad_ranks = int(flag.item())
        if not bad_ranks:
            return
        raise NonFiniteLossError(
            self._message(runner, batch_idx, bad, rank, world_size, bad_ranks))

    @staticmethod
    def _message(runner, batch_idx: int, bad: Dict[str, float], rank: int,
                 world_size: int, bad_ranks: int) -> str:
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1}, batch {batch_idx + 1})'
        terms: List[str] = [f'{k}={v}' for k, v in bad.items()]
        if world_size > 1:
            seen = (f'on rank {rank}: ' + ', '.join(terms)) if terms else \
                f'not on rank {rank}'
            what = f'on {bad_ranks} of {world_size} ranks ({seen})'
        else:
            what = ', '.join(terms)
        last_ckpt = runner.message_hub.get_info('last_ckpt')
        resume = (f'The last checkpoint written before it is {last_ckpt}.'
                  if last_ckpt else 'No checkpoint was written before it.')
        return (f'Non-finite loss at {where}: {what}. The run stops here, '
                f'before this state is checkpointed. {resume} Lower the '
                'learning rate or check the data, then resume with '
                '--resume <checkpoint>.')

"""SoCo's linear learning-rate warm-up (docs/method.md section 4.4).

The reference warms up from lr / 100 with ``GradualWarmupScheduler``: at
iteration i (0-based) of a W-iteration warm-up the lr is
``base * (0.01 + 0.99 * i / W)``, so it reaches ``base`` at iteration W, where
the cosine takes over. mmengine's ``LinearLR`` over ``[begin, end)`` reaches
its end factor at ``end - 1`` (it divides by ``end - begin - 1``): one
iteration early, with a slope steeper by a factor W / (W - 1).
:class:`LinearWarmupLR` divides by ``end - begin`` and also sets the value
of step ``end`` (the end factor), which the scheduler that follows (a cosine
from ``end``, chained on the current value) starts from.
"""
from mmengine.optim.scheduler import LinearLR

from mmsoco.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class LinearWarmupLR(LinearLR):
    """``LinearLR`` that reaches ``end_factor`` at step ``end``, not
    ``end - 1``.

    SoCo (https://arxiv.org/abs/2106.02637), the learning-rate warm-up:
    docs/method.md section 4.4. The factor at step t (from ``begin``) is
    ``start_factor + (end_factor - start_factor) * t / (end - begin)`` for
    t = 0 ... ``end - begin``; a scheduler beginning at ``end`` starts from
    the full value. Arguments as mmengine's ``LinearLR`` (``end`` in epochs
    with ``convert_to_iter_based``, as there).
    """

    def __init__(self,
                 optimizer,
                 begin: int = 0,
                 end: int = 0,
                 **kwargs) -> None:
        super().__init__(optimizer, begin=begin, end=end + 1, **kwargs)
        self.total_iters = end - begin

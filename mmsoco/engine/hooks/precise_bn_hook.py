"""Precise BN: population statistics for every BN layer before it is used.

A BN layer's running mean / variance is an exponential moving average over
the last ~1/momentum training batches, taken while the weights kept
changing; the detector is then evaluated (and saved) with statistics that
match neither the final weights nor the data. detectron2's fine-tuning
recipes, which SoCo's published numbers come from, replace them before
each evaluation and at the end of training by the population statistics
of the final weights over ``TEST.PRECISE_BN.NUM_ITER = 200`` training
batches (fvcore's ``update_bn_stats``): the plain mean over those batches
of each batch's mean and (unbiased) variance, momentum-free.

Here the same runs as an mmengine hook, after the train iteration (epoch)
that a validation follows and after the last one, before the checkpoint
hook (priority LOW runs before CheckpointHook's VERY_LOW) and before the
validation loop, so the validated and the saved model both have the
population statistics. Under DDP each rank averages over its own batches
and the sums are all-reduced (SyncBN layers already see every rank's batch,
so their statistics are the same on all ranks; plain BN layers differ per
rank and the average makes them agree). Layers in eval mode (frozen,
``norm_eval=True``) or without running statistics are left as they are.
"""
import bisect
import copy
import itertools
from typing import Callable, Dict, Iterable, Iterator, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import Dataset

from mmsoco.registry import HOOKS
from mmsoco.utils.progress import progress_bar


def training_bn_layers(model: nn.Module) -> List[_BatchNorm]:
    """The BN layers (plain and SyncBN) that train: in training mode and
    tracking running statistics."""
    return [
        m for m in model.modules()
        if isinstance(m, _BatchNorm) and m.training and m.track_running_stats
    ]


@torch.no_grad()
def update_bn_stats(forward: Callable[[dict], None],
                    batches: Iterable[dict],
                    bn_layers: List[_BatchNorm],
                    num_iters: int,
                    progress: Optional[Callable[[int], None]] = None) -> None:
    """Set each layer's running mean / var to its population statistics.

    Each of ``num_iters`` batches is run through ``forward`` with the
    layers' momentum at 1, so after it a layer's running mean / var are that
    batch's mean / unbiased variance; these are summed and the sums, summed
    over ranks (all-reduce; nothing on one process), divided by
    ``num_iters * world_size``. Momentum and ``num_batches_tracked`` are put
    back afterwards.

    Raises:
        ValueError: ``batches`` ran out before ``num_iters``.
    """
    if not bn_layers:
        return
    momenta = [bn.momentum for bn in bn_layers]
    tracked = [bn.num_batches_tracked.clone() for bn in bn_layers]
    sums = [(torch.zeros_like(bn.running_mean),
             torch.zeros_like(bn.running_var)) for bn in bn_layers]
    for bn in bn_layers:
        bn.momentum = 1.0
    seen = 0
    try:
        for batch in itertools.islice(batches, num_iters):
            forward(batch)
            for (mean_sum, var_sum), bn in zip(sums, bn_layers):
                mean_sum += bn.running_mean
                var_sum += bn.running_var
            seen += 1
            if progress is not None:
                progress(seen)
    finally:
        for bn, momentum, count in zip(bn_layers, momenta, tracked):
            bn.momentum = momentum
            bn.num_batches_tracked.copy_(count)
    if seen != num_iters:
        raise ValueError(f'precise BN: the data gave {seen} batches, '
                         f'{num_iters} were asked for')
    flat = torch.cat([torch.cat(pair) for pair in sums])
    all_reduce(flat, op='sum')
    flat /= num_iters * get_world_size()
    offset = 0
    for bn in bn_layers:
        channels = bn.running_mean.numel()
        bn.running_mean.copy_(flat[offset:offset + channels])
        bn.running_var.copy_(flat[offset + channels:offset + 2 * channels])
        offset += 2 * channels


def validates_after(done: int, val_begin: int, val_interval: int,
                    total: int) -> bool:
    """Whether mmengine's train loops validate once ``done`` iterations
    (epochs) of ``total`` are finished."""
    return done >= val_begin and (done % val_interval == 0 or done == total)


def _current_val_interval(loop, done: int) -> int:
    """The interval the loop checks after ``done`` steps (dynamic intervals
    included: the loop decides it for ``done + 1``)."""
    milestones = getattr(loop, 'dynamic_milestones', None)
    intervals = getattr(loop, 'dynamic_intervals', None)
    if not milestones or not intervals:
        return loop.val_interval
    return intervals[bisect.bisect(milestones, done + 1) - 1]


class _SharedDataset(Dataset):
    """The training dataset, handed to the hook's loader without a copy
    (``Runner.build_dataloader`` deep-copies its argument; a COCO or LVIS
    dataset's serialised annotations are hundreds of MB)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]

    def __getattr__(self, name):  # metainfo, get_data_info, full_init ...
        if name == 'dataset':  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __deepcopy__(self, memo) -> '_SharedDataset':
        return self


def _endless(loader: Iterable) -> Iterator:
    """Batches of ``loader``, restarted when a finite sampler runs out."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            return


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Recompute BN statistics over training batches before each validation
    and before the final checkpoint (https://arxiv.org/abs/2106.02637;
    docs/method.md section 5.2; detectron2's ``TEST.PRECISE_BN``).

    The batches come from a second dataloader built from the config's
    ``train_dataloader`` (same sampler, batch size, workers and collate
    function) over the already-built training dataset, so the training
    data stream is not touched; one iterator is kept for the whole run, so
    successive updates see successive batches, as detectron2's hook. The
    model is run in training mode on the loss path (the R-CNN heads see
    their sampled RoIs, as in training), without gradients, under the optim
    wrapper's context (autocast with AMP).

    Args:
        num_iters (int): Batches per update. Defaults to 200
            (detectron2's ``TEST.PRECISE_BN.NUM_ITER``).
        progress_interval (float, optional): Seconds between two progress
            lines in the log (count, rate, time left). Defaults to None:
            :mod:`mmsoco.utils.progress`'s default (30 s, or the
            ``MMSOCO_PROGRESS_INTERVAL`` environment variable). By time, not
            by batches: a CPU smoke run's batches take seconds each.
    """

    priority = 'LOW'  # after the optimiser step, before CheckpointHook

    def __init__(self,
                 num_iters: int = 200,
                 progress_interval: Optional[float] = None) -> None:
        if num_iters < 1:
            raise ValueError(f'num_iters must be >= 1, got {num_iters}')
        self.num_iters = num_iters
        self.progress_interval = progress_interval
        self.loader = None  # built on first use
        self._batches: Optional[Iterator] = None

    # -- when ---------------------------------------------------------------
    def _due(self, runner, done: int, total: int) -> bool:
        loop = runner.train_loop
        if done == total:
            return True
        return runner.val_loop is not None and validates_after(
            done, loop.val_begin, _current_val_interval(loop, done), total)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if self._by_epoch(runner):
            return
        if self._due(runner, runner.iter + 1, runner.max_iters):
            self.update(runner)

    def after_train_epoch(self, runner) -> None:
        if not self._by_epoch(runner):
            return
        if self._due(runner, runner.epoch + 1, runner.max_epochs):
            self.update(runner)

    @staticmethod
    def _by_epoch(runner) -> bool:
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            return False
        if isinstance(loop, EpochBasedTrainLoop):
            return True
        raise TypeError('PreciseBNHook supports IterBasedTrainLoop and '
                        f'EpochBasedTrainLoop, not {type(loop).__name__}')

    # -- what ---------------------------------------------------------------
    def _data(self, runner) -> Iterator:
        if self._batches is None:
            loader_cfg = runner.cfg.get('train_dataloader')
            if loader_cfg is None:
                raise ValueError('PreciseBNHook needs the config\'s '
                                 '"train_dataloader" to build its own loader')
            loader_cfg = copy.deepcopy(loader_cfg)
            loader_cfg['dataset'] = _SharedDataset(
                runner.train_dataloader.dataset)
            randomness = runner.cfg.get('randomness') or {}
            self.loader = runner.build_dataloader(
                loader_cfg,
                seed=runner.seed,
                diff_rank_seed=randomness.get('diff_rank_seed', False))
            self._batches = _endless(self.loader)
        return self._batches

    def update(self, runner) -> None:
        """Replace every training BN layer's statistics in ``runner.model``."""
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        bn_layers = training_bn_layers(model)
        if not bn_layers:
            print_log('precise BN: no BN layer in training mode', 'current')
            return
        print_log(
            f'precise BN: statistics of {len(bn_layers)} BN layers over '
            f'{self.num_iters} training batches (PreciseBNHook num_iters; '
            'lower it for a quick CPU run)', 'current')

        def forward(batch: Dict) -> None:
            with runner.optim_wrapper.optim_context(model):
                data = model.data_preprocessor(batch, True)
                model._run_forward(data, mode='loss')

        with progress_bar(
                total=self.num_iters,
                desc='precise BN',
                unit='batch',
                interval=self.progress_interval,
                log=lambda line: print_log(line, 'current')) as bar:
            update_bn_stats(forward, self._data(runner), bn_layers,
                            self.num_iters, lambda seen: bar.update(1))

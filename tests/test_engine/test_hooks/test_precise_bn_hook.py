"""PreciseBNHook: population BN statistics, checked against an independent
loop over the same batches, and run before validation and before the last
checkpoint."""
import copy

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmsoco.engine.hooks.precise_bn_hook import (PreciseBNHook,
                                                 training_bn_layers,
                                                 update_bn_stats,
                                                 validates_after)


def _hand_population_stats(model, batches):
    """BN layer name -> (mean, var): the mean over ``batches`` of the batch's
    per-channel mean and unbiased variance of the layer's input, captured by
    forward pre-hooks (never read off the layers' buffers)."""
    layers = {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    }
    inputs = {name: [] for name in layers}
    handles = [
        m.register_forward_pre_hook(
            lambda mod, args, name=name: inputs[name].append(args[0]))
        for name, m in layers.items()
    ]
    with torch.no_grad():
        for batch in batches:
            model(batch)
    for h in handles:
        h.remove()
    stats = {}
    for name, xs in inputs.items():
        # channels first, everything else flattened: (C, N * H * W)
        flat = [x.transpose(0, 1).reshape(x.shape[1], -1) for x in xs]
        means = torch.stack([f.mean(dim=1) for f in flat])
        vars_ = torch.stack([f.var(dim=1, unbiased=True) for f in flat])
        stats[name] = (means.mean(0), vars_.mean(0))
    return stats


class _Net(nn.Module):
    """Plain BN, SyncBN (runs as plain BN without a process group), BN1d,
    a BN with momentum None (cumulative average) and a frozen BN."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3)
        self.bn2 = nn.SyncBatchNorm(5)
        self.frozen = nn.BatchNorm2d(5)
        self.cumulative = nn.BatchNorm2d(5, momentum=None)
        self.fc = nn.Linear(5, 6)
        self.bn3 = nn.BatchNorm1d(6)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.cumulative(self.frozen(self.bn2(self.conv2(x))))
        return self.bn3(self.fc(x.mean(dim=(2, 3))))


def test_update_bn_stats_gives_population_statistics():
    torch.manual_seed(0)
    net = _Net().train()
    net.frozen.eval()
    frozen_before = net.frozen.running_mean.clone()
    # shifted, scaled inputs so that the statistics are far from the init
    batches = [torch.randn(3, 3, 9, 9) * (i + 1) + i for i in range(4)]

    layers = training_bn_layers(net)
    assert net.frozen not in layers and net.bn2 in layers
    assert len(layers) == 4
    tracked = [bn.num_batches_tracked.clone() for bn in layers]
    update_bn_stats(net, iter(batches), layers, num_iters=3)

    expected = _hand_population_stats(copy.deepcopy(net), batches[:3])
    for name in ('bn1', 'bn2', 'cumulative', 'bn3'):
        bn = getattr(net, name)
        mean, var = expected[name]
        torch.testing.assert_close(bn.running_mean, mean, msg=name)
        torch.testing.assert_close(bn.running_var, var, msg=name)
    # momentum and the batch counters are restored, frozen layers untouched
    assert net.bn1.momentum == 0.1 and net.cumulative.momentum is None
    assert [bn.num_batches_tracked for bn in layers] == tracked
    assert torch.equal(net.frozen.running_mean, frozen_before)


def test_update_bn_stats_refuses_short_data():
    net = _Net().train()
    with pytest.raises(ValueError, match='2 batches, 3'):
        update_bn_stats(
            net,
            iter([torch.randn(2, 3, 9, 9)] * 2),
            training_bn_layers(net),
            num_iters=3)


def test_validates_after_mirrors_the_train_loops():
    # val_interval 4 of 10: after 4, 8 and the last step
    assert [k for k in range(1, 11) if validates_after(k, 1, 4, 10)] == \
        [4, 8, 10]
    assert [k for k in range(1, 11) if validates_after(k, 6, 4, 10)] == \
        [8, 10]


# -- in a runner -----------------------------------------------------------
class _Data(Dataset):

    def __init__(self, n=12):
        generator = torch.Generator().manual_seed(1)
        self.images = [
            torch.randn(3, 9, 9, generator=generator) * 2 + 1 for _ in range(n)
        ]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return dict(inputs=self.images[index])


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.net = _Net()
        self.val_stats = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.net(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        # validation: remember the statistics the model is evaluated with
        self.val_stats.append(self.net.bn1.running_mean.clone())
        return [dict(value=out.sum())]


class _Metric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(0.0)

    def compute_metrics(self, results):
        return dict(zero=0.0)


DATASETS.register_module(name='PreciseBNTestData', force=True)(_Data)


def _loader():
    return dict(
        dataset=dict(type='PreciseBNTestData'),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        num_workers=0,
        collate_fn=dict(type='default_collate'))


def test_hook_runs_before_val_and_before_the_last_checkpoint(tmp_path):
    torch.manual_seed(0)
    events = []
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        val_dataloader=_loader(),
        val_evaluator=dict(type=_Metric),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=6, val_interval=4),
        val_cfg=dict(type='ValLoop'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=4,
                            by_epoch=False)),
        custom_hooks=[dict(type=PreciseBNHook, num_iters=3)],
        default_scope='mmengine',
        log_processor=dict(by_epoch=False),
        # what the hook builds its own loader from (Runner.from_cfg sets it)
        cfg=dict(train_dataloader=_loader()))
    hook = next(h for h in runner.hooks if isinstance(h, PreciseBNHook))
    update, save, val_run = (hook.update, runner.save_checkpoint,
                             runner.val_loop.run)

    def spy(name, fn):

        def wrapped(*args, **kwargs):
            events.append((name, runner.iter))
            return fn(*args, **kwargs)

        return wrapped

    hook.update = spy('precise_bn', update)
    runner.save_checkpoint = spy('checkpoint', save)
    runner.val_loop.run = spy('val', val_run)
    runner.train()

    # the hook's loader reads the training dataset itself, not a copy
    assert hook.loader.dataset.dataset is runner.train_dataloader.dataset
    assert hook.loader is not runner.train_dataloader

    # runner.iter is the finished iteration count once the loop advanced;
    # the iteration's after_train_iter hooks see it one lower
    assert events == [('precise_bn', 3), ('checkpoint', 3), ('val', 4),
                      ('precise_bn', 5), ('checkpoint', 5), ('val', 6)]

    # the last checkpoint and the last validation hold the population
    # statistics of the final weights over the hook's second three batches
    # (the first three went to the update after iteration 4)
    saved = torch.load(tmp_path / 'iter_6.pth', weights_only=False)
    model = _Model()
    model.load_state_dict(saved['state_dict'])
    model.train()
    data = _Data()
    batches = [
        torch.stack([data[i]['inputs'] for i in (2 * b, 2 * b + 1)])
        for b in range(3, 6)
    ]
    expected = _hand_population_stats(model.net, batches)
    for name in ('bn1', 'bn2', 'cumulative', 'bn3'):
        mean, var = expected[name]
        torch.testing.assert_close(
            saved['state_dict'][f'net.{name}.running_mean'], mean, msg=name)
        torch.testing.assert_close(
            saved['state_dict'][f'net.{name}.running_var'], var, msg=name)
    assert torch.equal(runner.model.val_stats[-1],
                       saved['state_dict']['net.bn1.running_mean'])


def test_progress_is_logged_by_time_into_the_log_file(tmp_path):
    """A line per ``progress_interval`` seconds (0 here: every batch), with
    count, rate and time left, through the run's logger (its file)."""
    torch.manual_seed(0)
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[
            dict(type=PreciseBNHook, num_iters=3, progress_interval=0)
        ],
        default_scope='mmengine',
        log_processor=dict(by_epoch=False),
        cfg=dict(train_dataloader=_loader()),
        # A name of its own: runners made in the same second would otherwise
        # share mmengine's logger instance, and its log file elsewhere.
        experiment_name=f'precise_bn_progress_{tmp_path.name}')
    runner.train()
    log_file = next(tmp_path.glob('*/*.log'))
    lines = [
        line.split(' - ')[-1] for line in log_file.read_text().splitlines()
        if 'precise BN' in line
    ]
    assert lines[0].startswith('precise BN: statistics of 5 BN layers over '
                               '3 training batches')
    assert [line.split(',')[0] for line in lines[1:]] == [
        'precise BN: 1/3 batch (33.3%)', 'precise BN: 2/3 batch (66.7%)',
        'precise BN: 3/3 batch (100.0%)', 'precise BN: 3/3 batch (100.0%)'
    ]
    assert 'batch/s, ETA ' in lines[1] and 'done in' in lines[-1]


def _two_rank_worker(rank, port, batches, queue):
    import torch.distributed as dist
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        torch.manual_seed(0)  # the same weights on both ranks
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
        update_bn_stats(
            net, iter(batches[rank]), training_bn_layers(net), num_iters=2)
        # plain lists: shared tensors would not outlive the process
        queue.put(
            (rank, net[1].running_mean.tolist(), net[1].running_var.tolist()))
    finally:
        dist.destroy_process_group()


def test_ranks_average_their_statistics():
    """Plain BN under two gloo ranks with different batches: both end with
    the mean over all four batches (the sums are all-reduced)."""
    import socket

    import torch.multiprocessing as mp
    generator = torch.Generator().manual_seed(3)
    batches = [[
        torch.randn(2, 3, 7, 7, generator=generator) * (r + 1) + r
        for _ in range(2)
    ] for r in range(2)]
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    # spawn, not fork: a child forked after this process ran torch ops can
    # hang in its thread pools
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _two_rank_worker,
        args=(port, batches, queue),
        nprocs=2,
        start_method='spawn')
    results = {}
    for _ in range(2):
        rank, mean, var = queue.get()
        results[rank] = (torch.tensor(mean), torch.tensor(var))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    expected = _hand_population_stats(net, batches[0] + batches[1])['1']
    for rank in (0, 1):
        torch.testing.assert_close(results[rank][0], expected[0])
        torch.testing.assert_close(results[rank][1], expected[1])

"""Images per second of a config's training data pipeline, by worker count.

MMDetection's and MMPretrain's ``benchmark.py --task dataloader``, for a
question a GPU user asks: how many CPU cores (dataloader workers) does one
GPU need? For each ``--num-workers`` value the config's train dataloader is
built with that many workers and drained for ``--num-images`` images after
``--warmup`` batches (which pay for starting the workers); the rate is
images over wall-clock seconds, and per worker that rate divided by the
workers (0 workers: the main process alone). With ``--gpu-step-ms`` the
per-worker rate of the largest worker count becomes the number of workers
that keeps a GPU step of that length fed at the config's per-GPU batch.

Workers beyond this machine's CPU cores share them, so measure with at most
as many workers as cores. Pipelines with a cache (the demo's on-the-fly
proposals) run faster once the cache is warm.
"""
import argparse
import math
import os
import time
from typing import Iterator, List, NamedTuple

from mmengine.config import Config, DictAction

import mmsoco  # noqa: F401  (installs the weights-only checkpoint allow-list)
from mmsoco.utils.launch import load_config_or_exit
from mmsoco.utils.progress import progress_bar


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--num-workers',
        type=int,
        nargs='+',
        help="dataloader workers to measure (default: the config's)")
    parser.add_argument(
        '--num-images',
        type=int,
        default=200,
        help='images timed per worker count, after the warm-up')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='batches drawn before the clock starts (worker start-up)')
    parser.add_argument(
        '--gpu-step-ms',
        type=float,
        help='a training step of this many ms per GPU: say how many workers '
        'keep it fed')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.num_images < 1 or args.warmup < 0:
        parser.error('--num-images must be >= 1 and --warmup >= 0')
    if args.num_workers and min(args.num_workers) < 0:
        parser.error('--num-workers must be >= 0')
    return args


class Rate(NamedTuple):
    """What one worker count achieved."""
    workers: int
    images: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    @property
    def per_worker(self) -> float:
        return self.images_per_s / max(self.workers, 1)


def workers_needed(per_worker: float, batch_size: int, step_ms: float) -> int:
    """Workers that prepare ``batch_size`` images within one ``step_ms``
    GPU step, each at ``per_worker`` images/s."""
    return math.ceil(batch_size / (step_ms / 1000.) / per_worker)


def _batches(loader) -> Iterator[dict]:
    """Batches epoch after epoch (a small dataset is drained repeatedly)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError('the train dataloader gave no batch (fewer '
                             'images than one batch with drop_last?)')


def _num_images(batch) -> int:
    samples = batch.get('data_samples') if isinstance(batch, dict) else None
    return len(samples if samples is not None else batch['inputs'])


def measure(cfg: Config, workers: int, num_images: int, warmup: int) -> Rate:
    """Drain the train dataloader with ``workers`` workers."""
    from mmengine.runner import Runner
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(num_workers=workers, persistent_workers=workers > 0)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = _batches(loader)
    for _ in range(warmup):
        next(batches)
    images = 0
    with progress_bar(
            total=num_images, desc=f'{workers} workers', unit='img') as bar:
        start = time.perf_counter()
        while images < num_images:
            count = _num_images(next(batches))
            images += count
            bar.update(count)
        seconds = time.perf_counter() - start
    return Rate(workers, images, seconds)


def report(rates: List[Rate], batch_size: int, step_ms=None) -> str:
    rows = [
        '| workers | images/s | images/s per worker |',
        '| --- | --- | --- |',
    ]
    for rate in rates:
        rows.append(f'| {rate.workers} | {rate.images_per_s:.1f} | '
                    f'{rate.per_worker:.1f} |')
    most_workers = max(rates, key=lambda r: r.workers)
    per_worker = most_workers.per_worker
    rows.append(f'{sum(r.images for r in rates)} images timed on '
                f'{os.cpu_count()} CPU cores, batch {batch_size} per GPU.')
    if step_ms is not None:
        need = workers_needed(per_worker, batch_size, step_ms)
        rows.append(f'A GPU step of {step_ms:g} ms at batch {batch_size} '
                    f'needs {need} workers ({per_worker:.1f} images/s '
                    f'each, measured with {most_workers.workers} workers).')
    else:
        rows.append(f'One worker prepares {per_worker:.1f} images/s: a '
                    f'GPU step of X ms at batch {batch_size} needs '
                    f'ceil({batch_size} * 1000 / (X * {per_worker:.1f})'
                    ') workers (--gpu-step-ms X works it out).')
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config_or_exit(args.config, args.cfg_options)
    from mmengine.registry import DefaultScope

    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    workers = args.num_workers or [cfg.train_dataloader.get('num_workers', 0)]
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        rates = [
            measure(cfg, n, args.num_images, args.warmup) for n in workers
        ]
    print(report(rates, cfg.train_dataloader.batch_size, args.gpu_step_ms))


if __name__ == '__main__':
    main()

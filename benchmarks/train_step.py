"""Train-step cost of SoCo R50-FPN in both head batchings against BYOL R50
(docs/method.md sections 3-4).

One process, fp32, CPU by default. For each model: forward + backward + LARS
step + EMA target update (``train_step`` then ``update_target``) on the same
synthetic batch: B images x views 224 / 224 / 112 with SoCo's pairs
(V1, V2), (V1, V3) and K=4 boxes per box set (V1 has one set per pair),
box sizes drawn like selective-search proposals that passed
``ratio3size0308`` (sqrt(area) 0.3-0.8 of the source image, V2/V3 crops
magnify them), so some V2 boxes exceed 224 and are dropped as in training.

Models: SoCo with the reference batching (``head_batching='per_level'``, the
recipes' default: every box set through RoIAlign, head, projector and
predictor once per FPN level), SoCo with the fast batching
(``'mixed_levels'``: one head batch per view, each box on its own level),
BYOL R50 (whole views, global pooling). Steps are interleaved model by model,
the time per image is the median over runs.
FLOPs: ``mmsoco.models.utils.flop_count.train_step_flops``, i.e.
``mmengine.analysis.FlopAnalyzer`` on each network's forward (online with
predictor, target without); a train step is counted as 3 x online forward
(forward + backward) + target forward.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/train_step.py --batch 8 \
        --threads 2 --runs 5
"""
import argparse
import copy
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmsoco.models  # noqa: F401
from mmsoco.models.utils.flop_count import train_step_flops
from mmsoco.registry import MODELS
from mmsoco.structures import SoCoDataSample
from mmsoco.utils.atomic_files import atomic_write_json

VIEW_SIZES = (224, 224, 112)
PAIRS = [(0, 1), (0, 2)]
K = 4


def cpu_norms(cfg):
    """SyncBN -> BN (and BN1d in the MLPs): one CPU process, no group."""
    cfg = copy.deepcopy(cfg)
    for key in ('backbone', 'neck', 'bbox_head', 'shared_head'):
        if key in cfg and 'norm_cfg' in cfg[key]:
            cfg[key].norm_cfg = dict(type='BN', requires_grad=True)
    for key in ('projector', 'predictor'):
        cfg[key].norm_cfg = dict(type='BN1d')
    cfg.data_preprocessor = None
    return cfg


def random_boxes(gen, n, view, crop_scale):
    """n boxes whose sqrt(area) is 0.3-0.8 of the image, seen in ``view``."""
    rel = 0.3 + 0.5 * torch.rand(n, generator=gen)
    side = rel * view / crop_scale**0.5
    aspect = torch.exp((torch.rand(n, generator=gen) - 0.5) * 2.0)
    w, h = side * aspect.sqrt(), side / aspect.sqrt()
    x1 = torch.rand(n, generator=gen) * (view - w).clamp(min=0)
    y1 = torch.rand(n, generator=gen) * (view - h).clamp(min=0)
    boxes = torch.stack([x1, y1, x1 + w, y1 + h], 1)
    return boxes.clamp(0, view)


def make_batch(batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(batch, 3, s, s, generator=gen) for s in VIEW_SIZES]
    samples = []
    for _ in range(batch):
        sample = SoCoDataSample(metainfo=dict(view_pairs=PAIRS))
        scale = 0.5 + 0.5 * torch.rand(2, generator=gen)
        sample.pair_bboxes = [[
            random_boxes(gen, K, VIEW_SIZES[0], 1.0),
            random_boxes(gen, K, VIEW_SIZES[v], float(scale[v - 1]))
        ] for v in (1, 2)]
        ids = torch.arange(K)
        sample.pair_proposal_ids = [[ids, ids], [ids, ids]]
        rows = torch.arange(K)
        sample.pair_matches = [torch.stack([rows, rows], 1)] * 2
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build(cfg_path):
    cfg = Config.fromfile(cfg_path)
    model_cfg = cpu_norms(cfg.model)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim


def step(model, optim, batch):
    model.train_step(batch, optim)
    model.update_target(100)


def time_steps(models, batch, runs, batch_size):
    """Seconds per image of each model's step, ``runs`` times, the models
    stepped in turn (one warm-up step each first), so machine noise falls on
    all of them alike."""
    for model, optim in models.values():  # warm-up
        step(model, optim, batch)
    times = {name: [] for name in models}
    for _ in range(runs):
        for name, (model, optim) in models.items():
            start = time.perf_counter()
            step(model, optim, batch)
            times[name].append((time.perf_counter() - start) / batch_size)
    return times


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--json', help='write the results here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope('mmsoco')

    ref = 'SoCo R50-FPN, reference batching'
    fast = 'SoCo R50-FPN, fast batching'
    base = 'BYOL R50'
    models = {
        ref: build('configs/soco/soco_r50fpn_400e.py'),
        fast: build('configs/soco/soco_r50fpn_400e_fast.py'),
        base: build('configs/baselines/byol_r50_400e.py'),
    }
    batch = make_batch(args.batch)
    flops = {}
    with torch.no_grad():
        for name, (model, _) in models.items():
            flops[name] = train_step_flops(model, batch['inputs'],
                                           batch['data_samples'])
    times = time_steps(models, batch, args.runs, args.batch)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f'batch {args.batch}, {args.threads} threads, {args.runs} runs, '
          f'fp32, device cpu')
    print('| model | s / image (median) | time vs BYOL | train GFLOPs / '
          'image | FLOPs vs BYOL | time ratio / FLOP ratio |')
    print('|---|---|---|---|---|---|')
    results = {}
    for name in models:
        t_ratio = med[name] / med[base]
        f_ratio = flops[name]['train'] / flops[base]['train']
        gflops = flops[name]['train'] / args.batch / 1e9
        print(f'| {name} | {med[name]:.3f} | {t_ratio:.2f}x | {gflops:.1f} '
              f'| {f_ratio:.2f}x | {t_ratio / f_ratio:.2f} |')
        results[name] = dict(
            seconds_per_image=med[name],
            runs=times[name],
            flops=flops[name],
            time_vs_byol=t_ratio,
            flops_vs_byol=f_ratio)
    print(f'reference / fast batching: time {med[ref] / med[fast]:.2f}x, '
          f'FLOPs {flops[ref]["train"] / flops[fast]["train"]:.2f}x')
    if args.json:
        atomic_write_json(args.json, results, indent=1)


if __name__ == '__main__':
    main()

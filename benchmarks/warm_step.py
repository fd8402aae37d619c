"""Train-step cost of the warm-start recipes against the paper's SoCo R50-FPN
(docs/method.md section 4.5), for their GPU-hour estimates.

The same measurement as ``train_step.py`` (its synthetic batch, step, FLOP
count and CPU norms), on the models of the warm recipes: SoCo R50-FPN with
a trainable backbone (configs/soco/soco-warm_r50fpn_12e_coco.py, the same
model as the paper's, so the same cost: the in-process baseline), with the
backbone frozen (``frozen_stages=4``: no backbone gradient) and SoCo
Swin-T-FPN (configs/soco/soco-warm_swin-t-fpn_12e_coco.py). Steps are
interleaved model by model; the time per image is the median over runs.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/warm_step.py --batch 4 \
        --threads 2 --runs 3
"""
import argparse
import os.path as osp
import statistics
import sys

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmsoco.models.utils.flop_count import train_step_flops

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
# isort: off
from train_step import cpu_norms, make_batch, time_steps  # noqa: E402
# isort: on

BASELINE = 'SoCo R50-FPN, backbone trainable (the paper\'s model)'
MODELS = {
    BASELINE: ('configs/soco/soco-warm_r50fpn_12e_coco.py', {}),
    'SoCo R50-FPN, backbone frozen':
    ('configs/soco/soco-warm_r50fpn_12e_coco.py', dict(frozen_stages=4)),
    'SoCo Swin-T-FPN': ('configs/soco/soco-warm_swin-t-fpn_12e_coco.py', {}),
}


def build(path, backbone):
    """The recipe's model (random weights: cost does not depend on them)
    and optimiser, CPU norms."""
    from mmsoco.registry import MODELS as REGISTRY
    cfg = Config.fromfile(path)
    model_cfg = cpu_norms(cfg.model)
    model_cfg.init_cfg = None
    model_cfg.backbone.update(backbone)
    torch.manual_seed(0)
    model = REGISTRY.build(model_cfg)
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--runs', type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope('mmsoco')
    models = {
        name: build(path, backbone)
        for name, (path, backbone) in MODELS.items()
    }
    batch = make_batch(args.batch)
    with torch.no_grad():
        flops = {
            name:
            train_step_flops(model, batch['inputs'],
                             batch['data_samples'])['train']
            for name, (model, _) in models.items()
        }
    times = time_steps(models, batch, args.runs, args.batch)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f'batch {args.batch}, {args.threads} threads, {args.runs} runs, '
          'fp32, device cpu')
    print('| model | s / image (median) | runs (s / image) | time vs '
          'baseline | train GFLOPs / image | FLOPs vs baseline |')
    print('|---|---|---|---|---|---|')
    for name in models:
        runs = ' '.join(f'{t:.3f}' for t in times[name])
        print(f'| {name} | {med[name]:.3f} | {runs} | '
              f'{med[name] / med[BASELINE]:.2f}x | '
              f'{flops[name] / args.batch / 1e9:.1f} | '
              f'{flops[name] / flops[BASELINE]:.2f}x |')


if __name__ == '__main__':
    main()

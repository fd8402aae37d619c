"""One prepared GPU check of mmsoco (benchmarks/gpu/README.md).

1. RoI layers agree: ``TVRoIAlign`` on CUDA (torchvision) against mmcv's
   ``RoIAlign`` on the CPU, same random features and boxes, every FPN stride,
   outputs and input gradients, to 1e-5.
2. Train steps of SoCo R50-FPN (``head_batching='per_level'``, the
   reference, and ``'mixed_levels'``, the fast twin) and BYOL R50 as the main
   job runs them: SyncBN inside a one-process nccl group, the model wrapped
   in mmengine's ``MMDistributedDataParallel``, bf16 AMP
   (``AmpOptimWrapper(dtype='bfloat16')``), channels_last, LARS, EMA target
   update after each step; batch 64 of synthetic views and boxes
   (:mod:`synthetic`), ``--warmup`` untimed then ``--iters`` timed steps.
3. Resume: the state after the warm-up (iteration 10) is checkpointed; a
   freshly built model and optimiser wrapper loaded from it must reproduce
   the losses of iterations 11 and 12 (11: weights and target; 12: also the
   optimiser's momentum and the target's step counter).

Writes ``gpu_check.json`` under ``--out`` (default ``$OUT``, else
``work_dirs/gpu_check``) and prints a table; exits 1 when a check fails.

``--cpu-dry-run``: the same code on the CPU in a few seconds (the suite runs
it): ResNet-18 FPN / BYOL R18 demo configs, 64 px views, batch 4, gloo group,
fp32 ``OptimWrapper`` (mmengine's ``AmpOptimWrapper`` refuses to build
without a GPU), plain BN (torch's SyncBatchNorm refuses CPU inputs inside
an initialised process group), the mmcv RoI layer, 2 + 2 iterations,
resume after iteration 2; the layer-agreement check needs CUDA and is
reported as not run.

    python benchmarks/gpu/check.py               # on the GPU machine
    python benchmarks/gpu/check.py --cpu-dry-run --out /tmp/gpu_check
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import shutil
import socket
import sys
import tempfile
import time

import torch
import torch.distributed as dist

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from layer_agreement import check_layer_agreement  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import MMDistributedDataParallel  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from synthetic import make_pair_batch  # noqa: E402

import mmsoco.models  # noqa: E402,F401
from mmsoco.converters.io import save_checkpoint_atomic  # noqa: E402
from mmsoco.registry import MODELS  # noqa: E402
from mmsoco.utils.atomic_files import atomic_write_text  # noqa: E402

GPU_MODELS = {
    'SoCo R50-FPN per_level': 'configs/soco/soco_r50fpn_400e.py',
    'SoCo R50-FPN mixed_levels': 'configs/soco/soco_r50fpn_400e_fast.py',
    'BYOL R50': 'configs/baselines/byol_r50_400e.py',
}
DRY_RUN_MODELS = {
    'SoCo R18-FPN per_level': 'configs/soco/soco_r18fpn_demo.py',
    'SoCo R18-FPN mixed_levels': 'configs/soco/soco_r18fpn_demo_fast.py',
    'BYOL R18': 'configs/baselines/byol_r18_demo.py',
}
#: lr of the configs is for a total batch of 2048 (8 GPUs x 256).
CONFIG_TOTAL_BATCH = 2048
#: distinct synthetic batches, cycled (iteration i uses batch i % this).
NUM_BATCHES = 4
#: the resumed run must reproduce the loss of iteration 11 to this (relative)
#: and of iteration 12 (after one more optimiser step) to the looser one.
RESUME_TOL_FIRST, RESUME_TOL_SECOND = 1e-5, 1e-3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cpu-dry-run', action='store_true')
    parser.add_argument(
        '--out', default=os.environ.get('OUT') or 'work_dirs/gpu_check')
    parser.add_argument('--batch', type=int)
    parser.add_argument('--warmup', type=int)
    parser.add_argument('--iters', type=int)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='CPU threads (dry run; more threads are much slower on a '
        'shared 2-core machine)')
    args = parser.parse_args(argv)
    dry = args.cpu_dry_run
    args.batch = args.batch or (4 if dry else 64)
    args.warmup = args.warmup or (2 if dry else 10)
    args.iters = args.iters or (2 if dry else 30)
    args.view_sizes = (64, 64, 32) if dry else (224, 224, 112)
    args.models = DRY_RUN_MODELS if dry else GPU_MODELS
    return args


def init_group(dry_run: bool) -> None:
    """A one-process group (world size 1): nccl on the GPU, gloo on CPU."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', str(port))
    dist.init_process_group(
        'gloo' if dry_run else 'nccl', rank=0, world_size=1)


def model_config(path: str, dry_run: bool, batch: int) -> Config:
    cfg = Config.fromfile(path)
    model = copy.deepcopy(cfg.model)
    model.data_preprocessor = None  # synthetic views are normalised already
    if dry_run:  # SyncBN refuses CPU inputs once a group exists
        for key in ('backbone', 'neck', 'bbox_head', 'shared_head'):
            if key in model and model[key].get('norm_cfg'):
                model[key].norm_cfg = dict(type='BN', requires_grad=True)
        for key in ('projector', 'predictor'):
            model[key].norm_cfg = dict(type='BN1d')
    optim = copy.deepcopy(cfg.optim_wrapper)
    optim.optimizer.lr *= batch / CONFIG_TOTAL_BATCH  # linear scaling rule
    if not dry_run:
        optim.type = 'AmpOptimWrapper'
        optim.dtype = 'bfloat16'
    return Config(dict(model=model, optim_wrapper=optim))


def build(cfg: Config, device: torch.device, channels_last: bool):
    """Model (initialised, on ``device``), its DDP wrapper and optimiser."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    ddp = MMDistributedDataParallel(
        module=model,
        device_ids=[device.index] if device.type == 'cuda' else None,
        broadcast_buffers=False,
        find_unused_parameters=False)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, ddp, optim_wrapper


def batches(args, device, channels_last):
    out = []
    for seed in range(NUM_BATCHES):
        batch = make_pair_batch(
            args.batch, args.view_sizes, seed=seed, device=device)
        if channels_last:
            batch['inputs'] = [
                x.contiguous(memory_format=torch.channels_last)
                for x in batch['inputs']
            ]
        out.append(batch)
    return out


def train_iter(model, ddp, optim_wrapper, batch, total_steps) -> float:
    """One step as the runner does it; the summed loss."""
    log_vars = ddp.train_step(batch, optim_wrapper)
    model.update_target(total_steps)
    return float(log_vars['loss'].detach())


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def run_model(name, cfg, args, data, device, channels_last, ckpt_dir):
    """Warm-up, checkpoint, timed steps, then the resume check."""
    total_steps = 1000  # the EMA schedule's length; any fixed value
    model, ddp, optim_wrapper = build(cfg, device, channels_last)
    losses = []
    for it in range(args.warmup):
        losses.append(
            train_iter(model, ddp, optim_wrapper, data[it % NUM_BATCHES],
                       total_steps))
    ckpt = osp.join(ckpt_dir, name.replace(' ', '_') + '.pth')
    save_checkpoint_atomic(
        dict(
            state_dict=model.state_dict(),
            optimizer=optim_wrapper.state_dict(),
            iter=args.warmup), ckpt)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    for it in range(args.warmup, args.warmup + args.iters):
        losses.append(
            train_iter(model, ddp, optim_wrapper, data[it % NUM_BATCHES],
                       total_steps))
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) if \
        device.type == 'cuda' else None
    extractor = getattr(model, 'roi_extractor', None)
    roi_layer = None if extractor is None else (
        'TVRoIAlign (automatic)' if extractor._torchvision_layers is not None
        else type(extractor.roi_layers[0]).__name__)
    del model, ddp, optim_wrapper
    resume = check_resume(cfg, ckpt, args, data, device, channels_last, losses,
                          total_steps)
    return dict(
        images_per_s=args.batch * args.iters / seconds,
        seconds_per_iter=seconds / args.iters,
        peak_memory_mib_per_image=None if peak is None else peak / 2**20 /
        args.batch,
        losses=losses,
        finite=all(math.isfinite(v) for v in losses),
        roi_layer=roi_layer,
        resume=resume)


def check_resume(cfg, ckpt, args, data, device, channels_last, losses,
                 total_steps):
    """A fresh model + optimiser from the checkpoint replays 2 iterations."""
    model, ddp, optim_wrapper = build(cfg, device, channels_last)
    state = torch.load(ckpt, map_location=device, weights_only=True)
    model.load_state_dict(state['state_dict'])
    optim_wrapper.load_state_dict(state['optimizer'])
    replayed = [
        train_iter(model, ddp, optim_wrapper, data[it % NUM_BATCHES],
                   total_steps)
        for it in range(state['iter'], state['iter'] + 2)
    ]
    original = losses[state['iter']:state['iter'] + 2]
    rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(replayed, original)]
    return dict(
        from_iteration=state['iter'],
        iterations=[state['iter'] + 1, state['iter'] + 2],
        original=original,
        resumed=replayed,
        relative_diff=rel,
        ok=rel[0] <= RESUME_TOL_FIRST and rel[1] <= RESUME_TOL_SECOND)


def table(results) -> str:
    lines = [
        '| model | images/s | s/iter | peak MiB/image | first / last loss '
        '| finite | RoI layer | resume (rel. diff of the 2 replayed losses) |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for name, r in results['models'].items():
        mem = r['peak_memory_mib_per_image']
        res = r['resume']
        lines.append(
            f"| {name} | {r['images_per_s']:.1f} | "
            f"{r['seconds_per_iter']:.3f} | "
            f"{'-' if mem is None else f'{mem:.0f}'} | "
            f"{r['losses'][0]:.4f} / {r['losses'][-1]:.4f} | {r['finite']} | "
            f"{r['roi_layer'] or '-'} | {'ok' if res['ok'] else 'FAILED'} "
            f"({res['relative_diff'][0]:.1e}, "
            f"{res['relative_diff'][1]:.1e}) |")
    agree = results['layer_agreement']
    lines.append(f"RoI layers (CUDA torchvision vs CPU mmcv): "
                 f"{agree.get('summary', agree)}")
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    dry = args.cpu_dry_run
    if not dry and not torch.cuda.is_available():
        print('no CUDA device: run with --cpu-dry-run', file=sys.stderr)
        return 2
    device = torch.device('cpu' if dry else 'cuda', None if dry else 0)
    channels_last = not dry
    if dry:
        torch.set_num_threads(args.threads)
    # Building six models logs every parameter's init and optimiser option
    # at INFO; the results are the table and the JSON.
    logger = MMLogger.get_instance('mmsoco_gpu_check', log_level='WARNING')
    # ... and warns about every frozen target parameter (frozen on purpose).
    logger.addFilter(
        lambda record: 'requires_grad=False' not in record.getMessage())
    init_default_scope('mmsoco')
    os.makedirs(args.out, exist_ok=True)
    # Checkpoints are large (R50: ~1 GB each with the optimiser state) and
    # only read back here: a scratch directory, not the results.
    ckpt_dir = tempfile.mkdtemp(prefix='mmsoco_gpu_check_')
    if not dry:
        torch.cuda.set_device(device)  # nccl binds the group to it
    init_group(dry)
    start = time.perf_counter()
    results = dict(
        mode='cpu-dry-run' if dry else 'gpu',
        device=torch.cuda.get_device_name(0) if not dry else 'cpu',
        torch=torch.__version__,
        batch=args.batch,
        warmup=args.warmup,
        iters=args.iters,
        view_sizes=list(args.view_sizes),
        amp=None if dry else 'bfloat16',
        channels_last=channels_last,
        sync_bn=not dry,
        process_group=dist.get_backend())
    results['layer_agreement'] = dict(
        ran=False, ok=None, summary='not run (needs CUDA)') if dry else \
        check_layer_agreement(torch.device('cuda', 0))
    data = batches(args, device, channels_last)
    results['models'] = {}
    for name, path in args.models.items():
        cfg = model_config(path, dry, args.batch)
        results['models'][name] = run_model(name, cfg, args, data, device,
                                            channels_last, ckpt_dir)
    dist.destroy_process_group()
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    results['seconds'] = time.perf_counter() - start
    results['ok'] = all(
        r['finite'] and r['resume']['ok']
        for r in results['models'].values()) and \
        results['layer_agreement']['ok'] is not False
    atomic_write_text(
        osp.join(args.out, 'gpu_check.json'), json.dumps(results, indent=1))
    print(table(results))
    print(f"{'all checks passed' if results['ok'] else 'CHECK FAILED'}; "
          f"{results['seconds']:.0f} s; "
          f"{osp.join(args.out, 'gpu_check.json')}")
    return 0 if results['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())

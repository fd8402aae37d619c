"""Data-pipeline throughput of one worker process (``docs/method.md`` section 2's views).

    python benchmarks/pipeline.py [--num-images 200] [--runs 5] \
        [--resizer pil_bilinear|cv2_linear]

Generates ImageNet-like 500x375 textured JPEGs and a proposal store for them
(~60 boxes per image, ``mmsoco.proposals.write_store``; an in-memory dict if
the store is unavailable, and the table says so), then times, in this one
process with cv2 and torch single-threaded:

- the floor: decode + one resize to 224x224 of the same images, with the
  pipeline's resizer (``MultiViewBoxJitter.resizer``, PIL bilinear in the
  recipes);
- SoCo R50-FPN's pipeline (decode, proposals from the store, views V1 224 /
  V2 224 / V3 112, photometric, pack), per stage;
- SoCo*'s (V1 224 / V2 224 / V3 192 / V4 112).

Each figure is the median over ``--runs`` passes over all images; the speed is
quoted as samples/s and as a ratio to the floor measured in the same run.
Times are this process's CPU time by default (``--clock cpu``: what one
worker on one free core would take, robust to other jobs sharing the
machine); ``--clock wall`` measures wall-clock time instead.
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmsoco.datasets.transforms.view_pixels import resize_image  # noqa: E402
from mmsoco.registry import TRANSFORMS  # noqa: E402

CONFIGS = osp.join(
    osp.dirname(__file__), '..', 'configs', '_base_', 'datasets')


def make_images(folder: str, num: int, seed: int = 0):
    """Textured 500x375 JPEGs (gradients, rectangles, ellipses, noise)."""
    rng = np.random.RandomState(seed)
    names = []
    yy, xx = np.mgrid[0:375, 0:500]
    for i in range(num):
        base = (rng.rand(3) * 255)[None, None] * (xx / 500.0)[..., None]
        img = (base + rng.rand(375, 500, 3) * 40).astype(np.uint8)
        for _ in range(12):
            colour = tuple(int(c) for c in rng.randint(0, 255, 3))
            x, y = int(rng.randint(0, 450)), int(rng.randint(0, 330))
            if rng.rand() < 0.5:
                cv2.rectangle(img, (x, y), (x + int(rng.randint(20, 200)),
                                            y + int(rng.randint(20, 200))),
                              colour, -1)
            else:
                cv2.ellipse(
                    img, (x, y),
                    (int(rng.randint(10, 100)), int(rng.randint(10, 100))), 0,
                    0, 360, colour, -1)
        name = f'img_{i:05d}.JPEG'
        cv2.imwrite(
            osp.join(folder, name), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        names.append(name)
    return names


def make_proposals(num_boxes: int, rng) -> np.ndarray:
    """Boxes passing SoCo's ratio3size0308 rule on a 500x375 image."""
    side = np.sqrt(500 * 375) * rng.uniform(0.3, 0.8, num_boxes)
    ratio = np.exp(rng.uniform(np.log(1 / 3), np.log(3), num_boxes))
    w = np.minimum(side * np.sqrt(ratio), 500)
    h = np.minimum(side / np.sqrt(ratio), 375)
    x1 = rng.uniform(0, 500 - w)
    y1 = rng.uniform(0, 375 - h)
    return np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32).round()


class DictProposals:
    """Fallback proposal step: precomputed boxes from an in-memory dict."""

    def __init__(self, boxes_by_path):
        self.boxes_by_path = boxes_by_path

    def __call__(self, results):
        boxes = self.boxes_by_path[results['img_path']]
        results['proposals'] = boxes
        results['proposal_ids'] = np.arange(len(boxes), dtype=np.int64)
        return results


def proposal_step(folder, names, boxes):
    """The store-backed SelectiveSearchProposals, or the dict fallback."""
    try:
        from mmsoco.proposals import write_store
        store = osp.join(folder, 'store')
        write_store(store, ((n, b, (500, 375)) for n, b in zip(names, boxes)))
        step = TRANSFORMS.build(
            dict(type='SelectiveSearchProposals', store_path=store))
        return step, 'ProposalStore (memory-mapped)'
    except Exception as err:  # noqa: BLE001 - benchmark falls back, says so
        print(f'proposal store unavailable ({err}); using an in-memory dict')
        by_path = {osp.join(folder, n): b for n, b in zip(names, boxes)}
        return DictProposals(by_path), 'in-memory dict (store unavailable)'


def stages_of(config_name: str, proposals, resizer=None):
    """(stage name, [callables]) of a data config's train pipeline (with its
    views' ``resizer`` replaced when given)."""
    cfg = Config.fromfile(osp.join(CONFIGS, config_name))
    steps = cfg.train_dataloader.dataset.pipeline
    by_type = {}
    for step in steps:
        if step['type'] == 'MultiViewBoxJitter' and resizer:
            step = dict(step, resizer=resizer)
        by_type.setdefault(step['type'], []).append(step)
    build = TRANSFORMS.build
    return [
        ('decode', [build(by_type['LoadImageFromFile'][0])]),
        ('proposals', [proposals]),
        ('views', [build(by_type['MultiViewBoxJitter'][0])]),
        ('photometric', [build(s) for s in by_type['ApplyToViews']]),
        ('pack', [build(by_type['PackSoCoInputs'][0])]),
    ]


CLOCKS = dict(cpu=time.process_time, wall=time.perf_counter)


def time_pipeline(paths, stages, clock=time.process_time):
    """Seconds per stage for one pass over ``paths``."""
    totals = {name: 0.0 for name, _ in stages}
    for path in paths:
        # The store key, as SoCoImageDataset gives it (keys are file names
        # in the benchmark's flat folder).
        results = dict(img_path=path, img_key=osp.basename(path))
        for name, steps in stages:
            start = clock()
            for step in steps:
                results = step(results)
            totals[name] += clock() - start
    return totals


def time_floor(paths, load, resizer, clock=time.process_time):
    """Seconds for decode + one resize to 224 of every image, with the
    pipeline's own resizer."""
    start = clock()
    for path in paths:
        img = load(dict(img_path=path))['img']
        resize_image(img, (224, 224), resizer)
    return clock() - start


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=200)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--clock', choices=sorted(CLOCKS), default='cpu')
    parser.add_argument(
        '--resizer',
        choices=('pil_bilinear', 'cv2_linear'),
        default=None,
        help="the views' resizer (default: the configs')")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    clock = CLOCKS[args.clock]
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    init_default_scope('mmsoco')
    np.random.seed(0)
    with tempfile.TemporaryDirectory() as folder:
        names = make_images(folder, args.num_images)
        rng = np.random.RandomState(1)
        boxes = [make_proposals(60, rng) for _ in names]
        proposals, source = proposal_step(folder, names, boxes)
        paths = [osp.join(folder, n) for n in names]
        variants = [('SoCo R50-FPN (224/224/112)', 'soco_fpn_imagenet.py'),
                    ('SoCo* (224/224/192 + V4 112)', 'soco_star_imagenet.py')]
        built = [(label, stages_of(cfg, proposals, args.resizer))
                 for label, cfg in variants]
        load = built[0][1][0][1][0]
        resizer = built[0][1][2][1][0].resizer
        time_pipeline(paths[:10], built[0][1])  # warm-up: store pages, LUTs
        floor_runs, runs = [], {label: [] for label, _ in built}
        for _ in range(args.runs):
            floor_runs.append(time_floor(paths, load, resizer, clock))
            for label, stages in built:
                runs[label].append(time_pipeline(paths, stages, clock))
    n = len(paths)
    floor = statistics.median(floor_runs)
    print(f'{n} images 500x375 JPEG, {args.runs} runs, median, {args.clock} '
          f'time; one process, cv2/torch 1 thread; proposals: {source}; '
          f'resizer: {resizer}\n')
    print('| pipeline | samples/s | ms/sample | vs floor (time ratio) |'
          ' decode | proposals | views | photometric | pack |')
    print('|---|---|---|---|---|---|---|---|---|')
    print(f'| floor: decode + resize 224 ({resizer}) | {n / floor:.0f} | '
          f'{1e3 * floor / n:.2f} | 1.00x | | | | | |')
    for label, stage_runs in runs.items():
        total = statistics.median(sum(r.values()) for r in stage_runs)
        per_stage = {
            name: statistics.median(r[name] for r in stage_runs)
            for name in stage_runs[0]
        }
        cells = ' | '.join(f'{1e3 * t / n:.2f} ms' for t in per_stage.values())
        print(f'| {label} | {n / total:.0f} | {1e3 * total / n:.2f} | '
              f'{total / floor:.2f}x | {cells} |')


if __name__ == '__main__':
    main()

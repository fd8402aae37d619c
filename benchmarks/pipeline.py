"""Data-pipeline throughput of one worker process (``docs/method.md`` section 2's views).

    python benchmarks/pipeline.py [--num-images 200] [--runs 5] \
        [--resizer pil_bilinear|cv2_linear] [--backends pil cv2] \
        [--write-readme]

Generates ImageNet-like 500x375 textured JPEGs and a proposal store for them
(~60 boxes per image, ``mmsoco.proposals.write_store``; an in-memory dict if
the store is unavailable, and the table says so), then times, in this one
process with cv2 and torch single-threaded:

- the floor: decode + one resize to 224x224 of the same images, with the
  pipeline's resizer (``MultiViewBoxJitter.resizer``, PIL bilinear in the
  recipes);
- SoCo R50-FPN's pipeline (decode, proposals from the store, views V1 224 /
  V2 224 / V3 112, photometric, pack), per stage;
- SoCo*'s (V1 224 / V2 224 / V3 192 / V4 112);

each pipeline once per photometric ``backend`` (``'pil'``: the reference's
pixels, the recipes' default; ``'cv2'``: the faster approximations).

Each figure is the median over ``--runs`` passes over all images, the floor
and every pipeline interleaved image by image; the speed is quoted as
samples/s and as a ratio to the floor measured in the same passes.
Times are this process's CPU time by default (``--clock cpu``: what one
worker on one free core would take, robust to other jobs sharing the
machine); ``--clock wall`` measures wall-clock time instead.
``--write-readme`` also writes the table into its section of
benchmarks/README.md (``pipeline_speed``; with ``--resizer``, its own
``pipeline_speed:<resizer>`` section).
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import readme_sections  # noqa: E402
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


def with_backend(step: dict, backend: str) -> dict:
    """An ``ApplyToViews`` step with every photometric transform set to
    ``backend``."""
    return dict(
        step,
        transforms=[dict(t, backend=backend) for t in step['transforms']])


def stages_of(config_name: str, proposals, resizer=None, backend=None):
    """(stage name, [callables]) of a data config's train pipeline (with its
    views' ``resizer`` and its photometric ``backend`` replaced when
    given)."""
    cfg = Config.fromfile(osp.join(CONFIGS, config_name))
    steps = cfg.train_dataloader.dataset.pipeline
    by_type = {}
    for step in steps:
        if step['type'] == 'MultiViewBoxJitter' and resizer:
            step = dict(step, resizer=resizer)
        if step['type'] == 'ApplyToViews' and backend:
            step = with_backend(step, backend)
        by_type.setdefault(step['type'], []).append(step)
    build = TRANSFORMS.build
    return [
        # The recipe's own loading step (its decoder is part of the cost).
        ('decode', [build(steps[0])]),
        ('proposals', [proposals]),
        ('views', [build(by_type['MultiViewBoxJitter'][0])]),
        ('photometric', [build(s) for s in by_type['ApplyToViews']]),
        ('pack', [build(by_type['PackSoCoInputs'][0])]),
    ]


CLOCKS = dict(cpu=time.process_time, wall=time.perf_counter)


def time_sample(path, stages, totals, clock=time.process_time):
    """Run one image through ``stages``, adding each stage's seconds to
    ``totals``."""
    # The store key, as SoCoImageDataset gives it (keys are file names in the
    # benchmark's flat folder).
    results = dict(img_path=path, img_key=osp.basename(path))
    for name, steps in stages:
        start = clock()
        for step in steps:
            results = step(results)
        totals[name] += clock() - start


def time_floor(path, load, resizer, clock=time.process_time):
    """Seconds for decode + one resize to 224 of one image, with the
    pipeline's own resizer."""
    start = clock()
    resize_image(load(dict(img_path=path))['img'], (224, 224), resizer)
    return clock() - start


def time_pass(paths, load, resizer, built, clock=time.process_time):
    """One pass over ``paths``: (floor seconds, {pipeline: {stage:
    seconds}}), the floor and every pipeline interleaved image by image, so
    that the load of a shared machine falls on all of them alike."""
    floor = 0.0
    totals = {
        key: {
            name: 0.0
            for name, _ in stages
        }
        for key, stages in built.items()
    }
    for path in paths:
        floor += time_floor(path, load, resizer, clock)
        for key, stages in built.items():
            time_sample(path, stages, totals[key], clock)
    return floor, totals


def table(floor, runs, n, resizer):
    """Markdown rows: the floor, then each pipeline's median total and
    stages, as samples/s and as a time ratio to the floor."""
    lines = [
        '| pipeline | photometric | samples/s | ms/sample | vs floor (time '
        'ratio) | decode | proposals | views | photometric | pack |',
        '|---|---|---|---|---|---|---|---|---|---|',
        f'| floor: decode + resize 224 ({resizer}) | | {n / floor:.0f} | '
        f'{1e3 * floor / n:.2f} | 1.00x | | | | | |'
    ]
    for (label, backend), stage_runs in runs.items():
        total = statistics.median(sum(r.values()) for r in stage_runs)
        per_stage = [
            statistics.median(r[name] for r in stage_runs)
            for name in stage_runs[0]
        ]
        cells = ' | '.join(f'{1e3 * t / n:.2f} ms' for t in per_stage)
        lines.append(f'| {label} | {backend} | {n / total:.0f} | '
                     f'{1e3 * total / n:.2f} | {total / floor:.2f}x | '
                     f'{cells} |')
    return lines


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
    parser.add_argument(
        '--backends',
        nargs='+',
        choices=('pil', 'cv2'),
        default=['pil', 'cv2'],
        help='the photometric backends to measure (default: both)')
    parser.add_argument(
        '--write-readme',
        action='store_true',
        help="write the table into benchmarks/README.md's pipeline_speed "
        'section')
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
        built = {
            (label, backend): stages_of(cfg, proposals, args.resizer, backend)
            for label, cfg in variants
            for backend in args.backends
        }
        first = dict(next(iter(built.values())))  # stage name -> steps
        load, resizer = first['decode'][0], first['views'][0].resizer
        time_pass(paths[:10], load, resizer, built)  # warm-up: store, numba
        floor_runs, runs = [], {key: [] for key in built}
        for _ in range(args.runs):
            floor, totals = time_pass(paths, load, resizer, built, clock)
            floor_runs.append(floor)
            for key, stage_times in totals.items():
                runs[key].append(stage_times)
    n = len(paths)
    floor = statistics.median(floor_runs)
    given = ' '.join(sys.argv[1:] if argv is None else argv)
    load_avg = ', '.join(f'{x:.1f}' for x in os.getloadavg())
    command = ' '.join(
        ['PYTHONPATH=$PWD .venv/bin/python benchmarks/pipeline.py'] +
        ([given] if given else []))
    cpu = readme_sections.cpu_name()
    section = '\n'.join([
        f'Command: `{command}`',
        '',
        f'{n} images 500x375 JPEG, median of {args.runs} passes, '
        f'{args.clock} time of one process (cv2 / torch 1 thread); '
        f'proposals: {source}; resizer: {resizer}; {cpu}, load '
        f'average {load_avg} at the end (a 2-core machine shared with other '
        'jobs: absolute times are noisy, the ratios compare runs interleaved '
        'in this process).',
        '',
        *table(floor, runs, n, resizer),
    ])
    if args.write_readme:  # a run with --resizer writes its own copy
        tag = args.resizer or ''
        readme_sections.write_section('pipeline_speed', section, tag)
    print(section)


if __name__ == '__main__':
    main()

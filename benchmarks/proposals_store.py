"""Proposal store vs the reference JSON: open time and memory per worker.

The reference ``json.load``\\ s a 1.1 GB ``{basename: [[x, y, w, h], ...]}``
into every data-loader worker. This builds a synthetic ImageNet-sized store
(1.28M images, ~50 boxes each, keys like ``n01440764/n01440764_10026.JPEG``)
and, for comparison, the reference JSON of the first ``--json-images`` images
of it, then measures in fresh subprocesses (each one a stand-in for a
data-loader worker):

* store: time of ``ProposalStore(path)``; resident memory added by opening
  it and by ``--lookups`` random lookups: RSS, and its anonymous part (heap,
  never shared). The rest of the store's RSS is file pages of the page
  cache, shared by every worker that maps the store, so the anonymous part
  is what each extra worker costs;
* JSON: time of ``json.load`` and the memory it adds (all anonymous).

Timings are medians over ``--repeats`` fresh processes. When the JSON covers
fewer images than the store, its figures are also extrapolated linearly to
the full image count (json.load time and memory are linear in the number of
entries). Usage::

    python benchmarks/proposals_store.py --work-dir /tmp/mmsoco_bench
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import numpy as np

NUM_CLASSES = 1000

_MEASURE = r'''
import json, sys, time
import numpy as np

def mem():
    vals = {}
    with open('/proc/self/smaps_rollup') as f:
        for line in f:
            parts = line.split()
            if parts[0] in ('Rss:', 'Anonymous:'):
                vals[parts[0][:-1]] = int(parts[1]) / 1024
    return vals['Rss'], vals['Anonymous']

kind, path, lookups = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == 'store':
    from mmsoco.proposals.store import ProposalStore
rss0, uss0 = mem()
t0 = time.perf_counter()
if kind == 'store':
    data = ProposalStore(path)
    keys_n = len(data)
else:
    with open(path) as f:
        data = json.load(f)
    keys_n = len(data)
t_open = time.perf_counter() - t0
rss1, uss1 = mem()
rng = np.random.default_rng(0)
idx = rng.integers(0, keys_n, lookups)
if kind == 'store':
    keys = [data.key_at(int(i)) for i in idx]
    t0 = time.perf_counter()
    total = sum(len(data[k]) for k in keys)
else:
    names = list(data)
    keys = [names[int(i)] for i in idx]
    del names
    t0 = time.perf_counter()
    total = sum(len(data[k]) for k in keys)
t_lookup = (time.perf_counter() - t0) / max(lookups, 1)
rss2, uss2 = mem()
print(json.dumps(dict(open_s=t_open, lookup_us=t_lookup * 1e6,
                      rss_open_mb=rss1 - rss0, anon_open_mb=uss1 - uss0,
                      rss_after_mb=rss2 - rss0, anon_after_mb=uss2 - uss0,
                      images=keys_n, boxes_seen=int(total))))
'''


def synthetic_keys(num_images: int):
    """ImageNet-style sorted keys: ``nXXXXXXXX/nXXXXXXXX_i.JPEG``."""
    per_class = -(-num_images // NUM_CLASSES)
    keys = []
    for c in range(NUM_CLASSES):
        wnid = f'n{1440764 + c * 997:08d}'
        for i in range(per_class):
            if len(keys) == num_images:
                break
            keys.append(f'{wnid}/{wnid}_{10000 + i * 7}.JPEG')
    return sorted(keys)


def synthetic_arrays(num_images: int,
                     mean_boxes: int,
                     seed: int = 0,
                     block: int = 100_000):
    """Integer boxes inside ImageNet-like image sizes (W, H in 300..500).

    Drawn in blocks of images to keep the peak memory near the output size.
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(mean_boxes // 2, mean_boxes * 3 // 2 + 1, num_images)
    offsets = np.zeros(num_images + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    sizes = rng.integers(300, 501, (num_images, 2)).astype(np.int32)
    boxes = np.empty((offsets[-1], 4), np.uint16)
    for start in range(0, num_images, block):
        stop = min(start + block, num_images)
        owner = np.repeat(np.arange(start, stop), counts[start:stop])
        w, h = sizes[owner, 0], sizes[owner, 1]
        n = len(owner)
        x1 = (rng.random(n) * (w - 40)).astype(np.int64)
        y1 = (rng.random(n) * (h - 40)).astype(np.int64)
        x2 = x1 + 32 + (rng.random(n) * (w - x1 - 32)).astype(np.int64)
        y2 = y1 + 32 + (rng.random(n) * (h - y1 - 32)).astype(np.int64)
        boxes[offsets[start]:offsets[stop]] = np.stack([x1, y1, x2, y2], 1)
    return offsets, boxes, sizes


def build(work_dir: str, num_images: int, mean_boxes: int, json_images: int):
    from mmsoco.proposals.store_exchange import xyxy_to_reference_xywh
    from mmsoco.proposals.store_writer import write_store_arrays
    from mmsoco.utils.atomic_files import atomic_write_text
    store_path = osp.join(work_dir, f'store_{num_images}_{mean_boxes}')
    json_path = osp.join(work_dir, f'ref_{json_images}_{mean_boxes}.json')
    if osp.isdir(store_path) and osp.isfile(json_path):
        return store_path, json_path
    keys = synthetic_keys(num_images)
    offsets, boxes, sizes = synthetic_arrays(num_images, mean_boxes)
    if not osp.isdir(store_path):
        t0 = time.perf_counter()
        write_store_arrays(
            store_path, keys, offsets, boxes, sizes, meta=dict(synthetic=True))
        print(
            f'built {store_path} in {time.perf_counter() - t0:.1f}s',
            file=sys.stderr)
    if not osp.isfile(json_path):
        t0 = time.perf_counter()
        ref = {}
        for i in range(min(json_images, num_images)):
            rects = xyxy_to_reference_xywh(boxes[offsets[i]:offsets[i + 1]])
            ref[keys[i].rsplit('/', 1)[1]] = rects.astype(int).tolist()
        atomic_write_text(json_path, json.dumps(ref))
        print(
            f'built {json_path} in {time.perf_counter() - t0:.1f}s',
            file=sys.stderr)
    return store_path, json_path


def measure(kind: str, path: str, lookups: int, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, '-c', _MEASURE, kind, path,
             str(lookups)],
            capture_output=True,
            text=True,
            check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out['images'] = runs[0]['images']
    return out


def dir_size_mb(path: str) -> float:
    if osp.isfile(path):
        return osp.getsize(path) / 2**20
    return sum(osp.getsize(osp.join(path, f))
               for f in os.listdir(path)) / 2**20


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='/tmp/mmsoco_bench')
    parser.add_argument('--num-images', type=int, default=1_281_167)
    parser.add_argument('--mean-boxes', type=int, default=50)
    parser.add_argument('--json-images', type=int, default=128_000)
    parser.add_argument('--lookups', type=int, default=10_000)
    parser.add_argument('--repeats', type=int, default=5)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    store_path, json_path = build(args.work_dir, args.num_images,
                                  args.mean_boxes, args.json_images)
    store = measure('store', store_path, args.lookups, args.repeats)
    ref = measure('json', json_path, args.lookups, args.repeats)
    scale = args.num_images / ref['images']
    rows = [
        ('open / load time (s)', f'{store["open_s"]:.4f}',
         f'{ref["open_s"]:.2f}', f'{ref["open_s"] * scale:.1f}'),
        ('RSS added by open (MB)', f'{store["rss_open_mb"]:.1f}',
         f'{ref["rss_open_mb"]:.0f}', f'{ref["rss_open_mb"] * scale:.0f}'),
        (f'RSS added after {args.lookups} lookups (MB)',
         f'{store["rss_after_mb"]:.1f}', f'{ref["rss_after_mb"]:.0f}',
         f'{ref["rss_after_mb"] * scale:.0f}'),
        (f'anonymous (never shared) after {args.lookups} lookups (MB)',
         f'{store["anon_after_mb"]:.1f}', f'{ref["anon_after_mb"]:.0f}',
         f'{ref["anon_after_mb"] * scale:.0f}'),
        ('lookup time (us/key)', f'{store["lookup_us"]:.1f}',
         f'{ref["lookup_us"]:.2f}', '-'),
        ('size on disk (MB)', f'{dir_size_mb(store_path):.0f}',
         f'{dir_size_mb(json_path):.0f}',
         f'{dir_size_mb(json_path) * scale:.0f}'),
    ]
    print(f'store: {store["images"]} images, {args.mean_boxes} boxes/image '
          f'on average; JSON: {ref["images"]} images (last column scaled '
          f'x{scale:.2f} to {args.num_images}); medians of {args.repeats} '
          f'fresh processes\n')
    print(f'| measure | store ({store["images"]} images) | reference JSON '
          f'({ref["images"]} images) | JSON scaled to {args.num_images} |')
    print('| --- | --- | --- | --- |')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main()

"""Cost and pixels of the ways to decode a training image (docs/method.md section 1.7).

Measures, in one single-threaded process, interleaved, on the same JPEGs
(scikit-image's photos, random crops resized to a 500-px longer side, quality
90, ImageNet's typical size):

* CPU time per image of each loading step, followed by the contiguous copy
  the views step makes first (``np.ascontiguousarray``), so a loader that
  returns a strided view pays for it here; median of ``--runs`` passes, as a
  ratio to mmcv's ``LoadImageFromFile()`` (OpenCV, EXIF applied: the recipes'
  loader before the reference's convention was adopted);
* the largest pixel difference of each to the reference's decode,
  ``PIL.Image.open(f).convert('RGB')``;
* the cost of reading an image's size from its header (the dataset's
  start-up size check), per image.

Usage::

    python benchmarks/decode.py [--num-images 300] [--runs 7]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import skimage.data
from PIL import Image

cv2.setNumThreads(1)

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'cat',
          'immunohistochemistry', 'hubble_deep_field', 'retina')


def write_jpegs(folder, num, seed=0):
    """``num`` JPEGs of random crops of the photos, 500-px longer side."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(getattr(skimage.data, n)()) for n in PHOTOS]
    paths = []
    for i in range(num):
        img = photos[i % len(photos)].convert('RGB')
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.6, 1)), int(h * rng.uniform(0.6, 1))
        x, y = int(rng.integers(0,
                                w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((x, y, x + cw, y + ch))
        s = 500 / max(cw, ch)
        crop = crop.resize((round(cw * s), round(ch * s)), Image.BILINEAR)
        paths.append(os.path.join(folder, f'{i:04d}.jpg'))
        crop.save(paths[-1], quality=90)
    return paths


def loaders():
    """(name, loading step) of each way to decode, the baseline first."""
    from mmcv.transforms import LoadImageFromFile

    from mmsoco.datasets.transforms.loading import LoadImageWithPIL
    return [
        ("LoadImageFromFile() (OpenCV, EXIF applied)", LoadImageFromFile()),
        ("LoadImageWithPIL() (the recipes', the reference's)",
         LoadImageWithPIL()),
        ("LoadImageFromFile(color_type='color_ignore_orientation')",
         LoadImageFromFile(color_type='color_ignore_orientation')),
        ("LoadImageFromFile(imdecode_backend='pillow', "
         "color_type='color_ignore_orientation')",
         LoadImageFromFile(
             imdecode_backend='pillow',
             color_type='color_ignore_orientation')),
    ]


def one_pass(step, paths):
    start = time.process_time()
    for path in paths:
        np.ascontiguousarray(step(dict(img_path=path))['img'])
    return time.process_time() - start


def header_pass(paths):
    from mmsoco.proposals.decode import header_size
    start = time.process_time()
    for path in paths:
        header_size(path)
    return time.process_time() - start


def reference_bgr(path):
    with open(path, 'rb') as f:
        return np.asarray(Image.open(f).convert('RGB'))[:, :, ::-1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=300)
    parser.add_argument('--runs', type=int, default=7)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, args.num_images)
        steps = loaders()
        times = {name: [] for name, _ in steps}
        headers = []
        for name, step in steps:  # warm-up: page cache, imports
            one_pass(step, paths)
        for _ in range(args.runs):
            for name, step in steps:
                times[name].append(one_pass(step, paths))
            headers.append(header_pass(paths))
        diffs = {
            name:
            max(
                int(
                    np.abs(
                        step(dict(img_path=p))['img'].astype(int) -
                        reference_bgr(p)).max()) for p in paths)
            for name, step in steps
        }
    per_image = {
        name: statistics.median(t) / len(paths) * 1e3
        for name, t in times.items()
    }
    base = per_image[steps[0][0]]
    print(f'{len(paths)} JPEGs, median of {args.runs} passes, CPU time, '
          f'one thread; load average {os.getloadavg()[0]:.1f}\n')
    print('| loading step | ms / image | vs OpenCV with EXIF | max pixel '
          'difference to the reference |')
    print('|---|---|---|---|')
    for name, _ in steps:
        print(f'| `{name}` | {per_image[name]:.2f} | '
              f'{per_image[name] / base:.2f}x | {diffs[name]} |')
    header_us = statistics.median(headers) / len(paths) * 1e6
    print(f'\nsize from the header (`mmsoco.proposals.decode.header_size`): '
          f'{header_us:.0f} us / image')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""The photometric operations against the reference's: pixels and speed.

    python benchmarks/photometric_ops.py [--runs 5] [--write-readme]

The reference computes its views' colour augmentation with torchvision on PIL
images (``ColorJitter``, ``RandomGrayscale``), ``ImageFilter.GaussianBlur``
and ``ImageOps.solarize``. On scikit-image's sample photos resized to
224 x 224 (PIL bilinear, as the views are), for each operation over the
recipes' factor ranges, this prints

- how far each ``backend`` of mmsoco's photometric transforms is from the
  reference, in grey levels (0-255, every pixel and channel): max, mean
  absolute, mean signed (ours - reference);
- the time of one operation on one 224 x 224 view: Pillow through
  torchvision (on a PIL image, as the reference calls it) and each backend
  (on a BGR array), the median over ``--runs`` interleaved passes of this
  process's CPU time, cv2 single-threaded; and each backend's time as a
  ratio to Pillow's.

``--write-readme`` also writes the table into its section of
benchmarks/README.md (``photometric_ops``).
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import time
from functools import partial

import cv2
import numpy as np
import skimage.data
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import readme_sections  # noqa: E402

from mmsoco.datasets.transforms import ColorJitter  # noqa: E402
from mmsoco.datasets.transforms.photometric import BACKENDS  # noqa: E402

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


def jitter_draws(count: int = 4, seed: int = 0):
    """Fixed (order, factors) draws of the recipes' ColorJitter(0.4, 0.4,
    0.2, 0.1)."""
    rng = np.random.RandomState(seed)
    return tuple((tuple(rng.permutation(4)),
                  (rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.4),
                   rng.uniform(0.8, 1.2), rng.uniform(-0.1, 0.1)))
                 for _ in range(count))


def torchvision_jitter(image, draw):
    """torchvision's ColorJitter.forward with its parameters fixed."""
    order, factors = draw
    jitter = T.ColorJitter(0.4, 0.4, 0.2, 0.1)
    jitter.get_params = lambda *args: (torch.tensor(order), *factors)
    return jitter(image)


def backend_call(function: str):
    """``backend, img, x -> BACKENDS[backend].function(img, x)``."""
    return lambda backend, img, x: getattr(BACKENDS[backend], function)(img, x)


def backend_jitter(backend, img, draw):
    return ColorJitter(backend=backend).jitter(img, *draw)


#: (operation, the recipes' factors, backend call, reference call on PIL).
OPERATIONS = [
    ('brightness', (0.6, 0.8, 1.2, 1.4), backend_call('adjust_brightness'),
     TF.adjust_brightness),
    ('contrast', (0.6, 0.8, 1.2, 1.4), backend_call('adjust_contrast'),
     TF.adjust_contrast),
    ('saturation', (0.8, 0.9, 1.1, 1.2), backend_call('adjust_saturation'),
     TF.adjust_saturation),
    ('hue', (-0.1, -0.05, 0.05, 0.1), backend_call('adjust_hue'),
     TF.adjust_hue),
    ('grayscale', (None, ),
     lambda backend, img, x: BACKENDS[backend].to_grayscale(img),
     lambda img, x: TF.rgb_to_grayscale(img, 3)),
    ('blur', (0.1, 0.5, 1.0, 1.5, 2.0), backend_call('gaussian_blur'),
     lambda img, x: img.filter(ImageFilter.GaussianBlur(radius=x))),
    ('solarize', (128, ), backend_call('solarize'), ImageOps.solarize),
    ('ColorJitter, 4 ops', jitter_draws(), backend_jitter, torchvision_jitter),
]


def views():
    """(PIL RGB image, BGR array) of each photo at 224 x 224."""
    out = []
    for name in PHOTOS:
        rgb = np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])
        image = Image.fromarray(rgb).resize((224, 224), Image.BILINEAR)
        out.append((image, np.ascontiguousarray(np.asarray(image)[..., ::-1])))
    return out


def differences(images, factors, ours, reference):
    """Max, mean absolute and mean signed difference, in grey levels."""
    diffs = []
    for image, bgr in images:
        for x in factors:
            expected = np.asarray(reference(image,
                                            x).convert('RGB'))[..., ::-1]
            diffs.append(ours(bgr, x).astype(np.int64) - expected)
    diffs = np.concatenate([d.ravel() for d in diffs])
    return int(np.abs(diffs).max()), np.abs(diffs).mean(), diffs.mean()


def seconds_per_call(call, images, factors, use_pil, repeat=3):
    """CPU seconds of one call, the inputs already in cache (an untimed
    call on each first, so no caller pays for the one before it)."""
    inputs = [(image if use_pil else bgr, x) for image, bgr in images
              for x in factors]
    seconds = 0.0
    for img, x in inputs:
        call(img, x)
        start = time.process_time()
        for _ in range(repeat):
            call(img, x)
        seconds += time.process_time() - start
    return seconds / (repeat * len(inputs))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument(
        '--write-readme',
        action='store_true',
        help="write the table into benchmarks/README.md's photometric_ops "
        'section')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cv2.setNumThreads(1)
    images = views()
    rows, times = {}, {}
    calls = []  # (operation, who, call on (image or array, x), factors)
    for name, factors, ours, reference in OPERATIONS:
        calls.append((name, 'Pillow', reference, factors))
        for backend in BACKENDS:
            call = partial(ours, backend)
            rows[name, backend] = differences(images, factors, call, reference)
            calls.append((name, backend, call, factors))
    for _, who, call, factors in calls:  # warm-up: numba caches
        seconds_per_call(call, images, factors, who == 'Pillow')
    for _ in range(args.runs):
        for name, who, call, factors in calls:
            times.setdefault((name, who), []).append(
                seconds_per_call(call, images, factors, who == 'Pillow'))
    median = {key: statistics.median(value) for key, value in times.items()}
    given = ' '.join(sys.argv[1:] if argv is None else argv)
    command = ' '.join(
        ['PYTHONPATH=$PWD .venv/bin/python benchmarks/photometric_ops.py'] +
        ([given] if given else []))
    load_avg = ', '.join(f'{x:.1f}' for x in os.getloadavg())
    cpu = readme_sections.cpu_name()
    lines = [
        f'Command: `{command}`', '',
        f'{len(images)} photos ({", ".join(PHOTOS)}) at 224 x 224; times: '
        f'median of {args.runs} passes, CPU time of one process, cv2 1 '
        f'thread; {cpu}, load average {load_avg} at the end (a '
        '2-core machine shared with other jobs: absolute times are noisy, '
        'the ratios compare calls interleaved in this process).', '',
        '| operation | factors | backend | max diff | mean abs diff | mean '
        'signed diff | ms / view | vs Pillow (time ratio) |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for name, factors, _, _ in OPERATIONS:
        shown = (f'{len(factors)} draws of (order, factors)' if isinstance(
            factors[0], tuple) else ', '.join('-' if x is None else f'{x:g}'
                                              for x in factors))
        pillow = median[name, 'Pillow']
        lines.append(f'| {name} | {shown} | Pillow (reference) | | | | '
                     f'{1e3 * pillow:.3f} | 1.00x |')
        for backend in BACKENDS:
            top, mean_abs, mean = rows[name, backend]
            seconds = median[name, backend]
            lines.append(f'| {name} | {shown} | {backend} | {top} | '
                         f'{mean_abs:.3f} | {mean:+.3f} | '
                         f'{1e3 * seconds:.3f} | {seconds / pillow:.2f}x |')
    section = '\n'.join(lines)
    if args.write_readme:
        readme_sections.write_section('photometric_ops', section)
    print(section)


if __name__ == '__main__':
    main()

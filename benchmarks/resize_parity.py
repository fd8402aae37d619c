"""How far mmsoco's view resizing is from the reference's (PIL bilinear).

    python benchmarks/resize_parity.py

The reference builds its views with torchvision on PIL images: crop the
integer window, then ``Image.resize(size, BILINEAR)`` (antialiased). For
scikit-image's sample photographs this prints the mean absolute difference,
in grey levels (0-255, over all pixels and channels), between PIL's resize
and each of mmsoco's resizers (``MultiViewBoxJitter(resizer=...)``) for

- V1: the whole image to 224 x 224;
- V3: the centred square window of side min(400, H, W) to 112 x 112.
"""

import numpy as np
from PIL import Image

from mmsoco.datasets.transforms.view_pixels import RESIZERS, crop_and_resize

IMAGES = ('astronaut', 'coffee', 'chelsea', 'rocket')


def photo(name: str) -> np.ndarray:
    import skimage.data
    img = getattr(skimage.data, name)()
    return np.ascontiguousarray(img[..., :3])


def windows(img: np.ndarray):
    """(view name, integer window, output size) of the two measured views."""
    height, width = img.shape[:2]
    side = min(400, height, width)
    x1, y1 = (width - side) // 2, (height - side) // 2
    return [('V1', (0, 0, width, height), (224, 224)),
            ('V3', (x1, y1, x1 + side, y1 + side), (112, 112))]


def pil_reference(img, window, size) -> np.ndarray:
    """torchvision's resized_crop on a PIL image: crop, then resize."""
    return np.asarray(
        Image.fromarray(img).crop(window).resize(size, Image.BILINEAR))


def mean_abs_diff(img, window, size, resizer: str) -> float:
    ours = crop_and_resize(img, window, size, resizer).astype(np.float64)
    return float(np.abs(ours - pil_reference(img, window, size)).mean())


def main() -> None:
    rows = {}
    for name in IMAGES:
        img = photo(name)
        for view, window, size in windows(img):
            for resizer in RESIZERS:
                rows.setdefault((view, resizer), []).append(
                    (name, mean_abs_diff(img, window, size, resizer)))
    print('| view | resizer | ' + ' | '.join(IMAGES) + ' | mean |')
    print('|---|---|' + '---|' * (len(IMAGES) + 1))
    for (view, resizer), values in rows.items():
        cells = ' | '.join(f'{d:.3f}' for _, d in values)
        mean = np.mean([d for _, d in values])
        print(f'| {view} | {resizer} | {cells} | {mean:.3f} |')


if __name__ == '__main__':
    main()

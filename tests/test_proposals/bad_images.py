"""Small test images of every kind the proposal tool must survive."""
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image

#: Generation parameters of the proposal tests: the reference's search and
#: filter, with a small pixel cap.
PARAMS = dict(
    max_side=None,
    rule='ratio3size0308',
    dedup=True,
    color_mode='reference',
    max_pixels=20000)


def scene(w, h, seed=0):
    """A flat background with a few filled rectangles (cheap to search)."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 200, np.uint8)
    for _ in range(4):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        dx, dy = int(rng.integers(15, 50)), int(rng.integers(15, 50))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + dx, y + dy), colour, -1)
    return img


def write_good_images(root, num=4, size=(96, 72), sub='good'):
    """``num`` clean JPEGs under ``root/sub``; returns their keys."""
    os.makedirs(osp.join(root, sub), exist_ok=True)
    keys = []
    for i in range(num):
        key = f'{sub}/img{i}.jpg'
        cv2.imwrite(osp.join(root, key), scene(*size, seed=i))
        keys.append(key)
    return keys


#: key -> (fragment expected in the failure reason, or None if it must work,
#: expected decode note or fallback)
BAD_KINDS = {
    'corrupt.jpg': 'not a decodable image',
    'truncated.jpg': 'truncated',
    'zero.png': 'empty file (0 bytes)',
    'huge.png': 'too large',
    'gray.png': None,
    'cmyk.jpg': None,
    'deep16.png': None,
    'one.png': None,
    'rgba.png': None,
}


def write_bad_images(root):
    """Write one file of every awkward kind into ``root``.

    ``huge.png`` is 200x150 = 30000 pixels: refused with max_pixels=20000.
    """
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(1)
    with open(osp.join(root, 'corrupt.jpg'), 'wb') as f:
        f.write(rng.integers(0, 256, 600, dtype=np.uint8).tobytes())
    ok, buf = cv2.imencode('.jpg', scene(96, 72))
    with open(osp.join(root, 'truncated.jpg'), 'wb') as f:
        f.write(buf.tobytes()[:len(buf) // 2])
    open(osp.join(root, 'zero.png'), 'wb').close()
    cv2.imwrite(osp.join(root, 'huge.png'), scene(200, 150))
    cv2.imwrite(osp.join(root, 'gray.png'), scene(80, 64)[:, :, 1])
    Image.fromarray(scene(80, 64)).convert('CMYK').save(
        osp.join(root, 'cmyk.jpg'))
    cv2.imwrite(
        osp.join(root, 'deep16.png'),
        scene(80, 64)[:, :, 0].astype(np.uint16) * 257)
    cv2.imwrite(osp.join(root, 'one.png'), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(
        osp.join(root, 'rgba.png'),
        np.dstack([scene(80, 64),
                   np.full((64, 80), 90, np.uint8)]))
    return sorted(BAD_KINDS)

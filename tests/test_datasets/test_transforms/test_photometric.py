"""Photometric transforms against float reference formulas (torchvision's)."""
import colorsys

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

# yapf: disable
from mmsoco.datasets.transforms import (ApplyToViews, ColorJitter,
                                        RandomGaussianBlur, RandomGrayscale,
                                        RandomSolarize)
from mmsoco.datasets.transforms.photometric import (adjust_brightness,
                                                    adjust_contrast,
                                                    adjust_hue,
                                                    adjust_saturation,
                                                    gaussian_blur, solarize,
                                                    to_grayscale)

# yapf: enable

RNG = np.random.RandomState(0)
IMG = RNG.randint(0, 256, (24, 32, 3)).astype(np.uint8)  # BGR


def _luma(img_bgr):
    b, g, r = [img_bgr[..., i].astype(np.float64) for i in range(3)]
    return 0.299 * r + 0.587 * g + 0.114 * b


@pytest.mark.parametrize('factor', [0.6, 1.0, 1.4])
def test_brightness_and_contrast(factor):
    expected = np.clip(IMG.astype(np.float64) * factor, 0, 255)
    assert np.abs(adjust_brightness(IMG, factor) - expected).max() <= 1
    mean = _luma(IMG).mean()
    expected = np.clip(IMG * factor + mean * (1 - factor), 0, 255)
    assert np.abs(adjust_contrast(IMG, factor) - expected).max() <= 1


@pytest.mark.parametrize('factor', [0.8, 1.2])
def test_saturation(factor):
    gray = _luma(IMG)[..., None]
    expected = np.clip(IMG * factor + gray * (1 - factor), 0, 255)
    assert np.abs(adjust_saturation(IMG, factor) - expected).max() <= 1.5


@pytest.mark.parametrize('shift', [-0.1, 0.05, 0.1])
def test_hue_shift_matches_hsv_rotation(shift):
    out = adjust_hue(IMG, shift).astype(np.float64)
    expected = np.empty_like(out)
    for y in range(IMG.shape[0]):
        for x in range(IMG.shape[1]):
            b, g, r = IMG[y, x] / 255.0
            h, s, v = colorsys.rgb_to_hsv(r, g, b)
            r2, g2, b2 = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
            expected[y, x] = np.array([b2, g2, r2]) * 255
    # uint8 HSV quantises hue to 1/256 turn and saturation to 1/255
    assert np.median(np.abs(out - expected)) <= 1
    assert np.percentile(np.abs(out - expected), 99) <= 8


def test_grayscale_solarize_blur():
    gray = to_grayscale(IMG)
    assert (gray[..., 0] == gray[..., 1]).all()
    assert np.abs(gray[..., 0] - _luma(IMG)).max() <= 1
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    out = solarize(levels, 128).astype(int)
    expected = np.where(levels >= 128, 255 - levels.astype(int), levels)
    np.testing.assert_array_equal(out, expected)
    smooth = np.zeros((41, 41, 3), np.uint8)
    smooth[20, 20] = 255
    blurred = gaussian_blur(smooth, 1.5).astype(np.float64)
    expected = gaussian_filter(
        smooth.astype(np.float64), (1.5, 1.5, 0), mode='reflect', truncate=3)
    assert np.abs(blurred - expected).max() <= 1.5


def test_probabilities_and_identity():
    np.random.seed(0)
    assert ColorJitter(prob=0.0)(dict(img=IMG))['img'] is IMG
    jitter = ColorJitter(0, 0, 0, 0, prob=1.0)
    np.testing.assert_array_equal(jitter(dict(img=IMG.copy()))['img'], IMG)
    changed = [
        not np.array_equal(ColorJitter(prob=1.0)(dict(img=IMG))['img'], IMG)
        for _ in range(20)
    ]
    assert all(changed)
    counts = sum(not np.array_equal(
        RandomSolarize(prob=0.2)(dict(img=IMG))['img'], IMG)
                 for _ in range(1000))
    assert 140 <= counts <= 260
    counts = sum(not np.array_equal(
        RandomGrayscale(prob=0.2)(dict(img=IMG))['img'], IMG)
                 for _ in range(1000))
    assert 140 <= counts <= 260
    blurred = RandomGaussianBlur(prob=1.0)(dict(img=IMG))['img']
    assert not np.array_equal(blurred, IMG) and blurred.dtype == np.uint8


def test_apply_to_views_touches_only_chosen_views():
    views = [dict(img=IMG.copy()) for _ in range(3)]
    wrapper = ApplyToViews(
        views=[1, 2], transforms=[dict(type='RandomSolarize', prob=1.0)])
    out = wrapper(dict(views=views))['views']
    np.testing.assert_array_equal(out[0]['img'], IMG)
    np.testing.assert_array_equal(out[1]['img'], solarize(IMG))
    with pytest.raises(IndexError, match='view 5'):
        ApplyToViews(views=[5], transforms=[])(dict(views=views))
    with pytest.raises(KeyError, match='views'):
        wrapper(dict(img=IMG))

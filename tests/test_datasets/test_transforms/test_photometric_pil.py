"""backend='pil' pixels against the reference: torchvision on PIL images.

The reference runs ``transforms.ColorJitter`` / ``RandomGrayscale`` on PIL
images, ``img.filter(ImageFilter.GaussianBlur(radius=sigma))`` and
``ImageOps.solarize``; every operation here must give the same uint8 pixels
(0 grey levels apart) on real photos, and the per-pixel ones on every RGB
colour.
"""
import cv2
import numpy as np
import pytest
import skimage.data
import torchvision.transforms.functional as TF
from PIL import Image, ImageFilter, ImageOps

from mmsoco.datasets.transforms import photometric_pil as P

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


def _views(name):
    """A photo as the pipeline's views: BGR uint8, 224 x 224 and a 112 x 112
    crop (resized by PIL as the views are)."""
    rgb = Image.fromarray(
        np.ascontiguousarray(getattr(skimage.data, name)()[..., :3]))
    side = min(rgb.size)
    crop = rgb.crop((0, 0, side // 2, side // 3))
    views = [
        rgb.resize((224, 224), Image.BILINEAR),
        crop.resize((112, 112), Image.BILINEAR)
    ]
    return [np.ascontiguousarray(np.asarray(v)[..., ::-1]) for v in views]


VIEWS = [view for name in PHOTOS for view in _views(name)]
# Sizes that take Pillow's box blur through its small-image branches.
ODD = [
    np.random.RandomState(size).randint(0, 256, (h, w, 3)).astype(np.uint8)
    for size, (h, w) in enumerate([(1, 1), (2, 9), (7, 5), (3, 61), (40, 2)])
]


def _pil(bgr):
    return Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))


def _bgr(image):
    return np.asarray(image.convert('RGB'))[..., ::-1]


def _assert_same(ours, reference):
    assert ours.dtype == np.uint8 and ours.shape == reference.shape
    diff = np.abs(ours.astype(int) - reference.astype(int))
    assert diff.max() == 0, f'{np.count_nonzero(diff)} values differ'


@pytest.mark.parametrize('factor', [0.0, 0.6, 0.77, 1.0, 1.23, 1.4, 2.5])
def test_brightness_and_contrast_match_torchvision(factor):
    for view in VIEWS:
        _assert_same(
            P.adjust_brightness(view, factor),
            _bgr(TF.adjust_brightness(_pil(view), factor)))
        _assert_same(
            P.adjust_contrast(view, factor),
            _bgr(TF.adjust_contrast(_pil(view), factor)))


@pytest.mark.parametrize('factor', [0.0, 0.8, 0.93, 1.2, 3.0])
def test_saturation_matches_torchvision(factor):
    for view in VIEWS:
        _assert_same(
            P.adjust_saturation(view, factor),
            _bgr(TF.adjust_saturation(_pil(view), factor)))


@pytest.mark.parametrize('shift', [-0.5, -0.1, -0.037, 0.0, 0.05, 0.1, 0.5])
def test_hue_matches_torchvision(shift):
    for view in VIEWS:
        _assert_same(
            P.adjust_hue(view, shift), _bgr(TF.adjust_hue(_pil(view), shift)))


def test_grayscale_and_solarize_match_the_reference():
    for view in VIEWS + ODD:
        _assert_same(
            P.to_grayscale(view), _bgr(TF.rgb_to_grayscale(_pil(view), 3)))
        for threshold in (128, 0, 200):
            _assert_same(
                P.solarize(view, threshold),
                _bgr(ImageOps.solarize(_pil(view), threshold)))


@pytest.mark.parametrize('sigma',
                         [0.1, 0.37, 1.0, 1.414, 1.415, 2.0, 3.3, 12.0])
def test_blur_matches_pil_gaussian_blur(sigma):
    """Box passes with fractional ends, edges extended (replicated), on
    photos and on images smaller than the boxes."""
    for view in VIEWS + ODD:
        _assert_same(
            P.gaussian_blur(view, sigma),
            _bgr(_pil(view).filter(ImageFilter.GaussianBlur(radius=sigma))))


def test_blur_weights_and_zero_radius():
    # sigma 2 -> box radius 1.3...: 3 inner pixels and 2 fractional ones
    weights = P.box_blur_weights(2.0)
    assert 1 < weights.radius < 2 and weights.inner == 1
    assert 0 <= (1 << 24) - (3 * weights.inner_weight +
                             2 * weights.edge_weight) <= 1
    view = VIEWS[0]
    out = P.gaussian_blur(view, 0.0)
    _assert_same(out, view)
    assert out is not view


@pytest.fixture(scope='module')
def every_colour():
    """All 2**24 RGB colours as one 4096 x 4096 RGB image and its BGR."""
    words = np.arange(1 << 24, dtype='>u4').view(np.uint8)
    rgb = words.reshape(-1, 4)[:, 1:].reshape(4096, 4096, 3)
    return Image.fromarray(rgb), np.ascontiguousarray(rgb[..., ::-1])


def _assert_every(ours, reference):
    assert np.array_equal(ours, reference), \
        f'{np.count_nonzero(ours != reference)} values differ'


def test_gray_and_hsv_conversions_on_every_colour(every_colour):
    """Pillow's RGB -> L, RGB -> HSV and HSV -> RGB on every input triple
    (a few seconds: exhaustive, so no colour escapes; the hue rotation is
    these two conversions around a uint8 addition)."""
    image, bgr = every_colour
    _assert_every(P.to_grayscale(bgr)[..., 1], np.asarray(image.convert('L')))
    _assert_every(P.bgr_to_pil_hsv(bgr), np.asarray(image.convert('HSV')))
    rgb = np.asarray(image)
    hsv = Image.frombytes('HSV', image.size, rgb.tobytes())  # every triple
    _assert_every(P.pil_hsv_to_bgr(rgb), _bgr(hsv))


def test_saturation_on_every_colour(every_colour):
    """The float32 blend with the fixed-point gray, every colour."""
    image, bgr = every_colour
    _assert_every(
        P.adjust_saturation(bgr, 1.2), _bgr(TF.adjust_saturation(image, 1.2)))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match='uint8 BGR image'):
        P.adjust_hue(VIEWS[0].astype(np.float32), 0.1)
    with pytest.raises(ValueError, match='uint8 BGR image'):
        P.gaussian_blur(cv2.cvtColor(VIEWS[0], cv2.COLOR_BGR2GRAY), 1.0)
    with pytest.raises(ValueError, match=r'\[-0.5, 0.5\]'):
        P.adjust_hue(VIEWS[0], 0.7)

"""The registered photometric transforms: draws, backends, and the whole
view augmentation against the reference's torchvision-on-PIL chain."""
import os.path as osp

import numpy as np
import pytest
import skimage.data
import torch
import torchvision.transforms as T
from mmengine.config import Config
from PIL import Image, ImageFilter, ImageOps

from mmsoco.datasets.transforms import (ApplyToViews, ColorJitter,
                                        RandomGaussianBlur, RandomGrayscale,
                                        RandomSolarize)
from mmsoco.datasets.transforms.photometric import BACKENDS
from mmsoco.registry import TRANSFORMS

RNG = np.random.RandomState(0)
IMG = RNG.randint(0, 256, (24, 32, 3)).astype(np.uint8)  # BGR
PHOTO = np.ascontiguousarray(
    np.asarray(
        Image.fromarray(skimage.data.coffee()).resize(
            (224, 224), Image.BILINEAR))[..., ::-1])


def _pil(bgr):
    return Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))


def _bgr(image):
    return np.asarray(image.convert('RGB'))[..., ::-1]


def _torchvision_jitter(image, order, factors):
    """torchvision's ColorJitter.forward with its drawn parameters fixed."""
    jitter = T.ColorJitter(0.4, 0.4, 0.2, 0.1)
    jitter.get_params = lambda *args: (torch.tensor(order), *factors)
    return jitter(image)


@pytest.mark.parametrize('order, factors', [
    ([0, 1, 2, 3], [0.6, 1.4, 0.8, 0.1]),
    ([3, 2, 1, 0], [1.37, 0.62, 1.19, -0.1]),
    ([2, 0, 3, 1], [0.91, 1.08, 1.2, -0.043]),
    ([1, 3, 0, 2], [1.4, 0.6, 0.83, 0.077]),
])
def test_color_jitter_matches_torchvision_given_order_and_factors(
        order, factors):
    ours = ColorJitter(prob=1.0).jitter(PHOTO, order, factors)
    expected = _bgr(_torchvision_jitter(_pil(PHOTO), order, factors))
    np.testing.assert_array_equal(ours, expected)


def test_color_jitter_ranges_are_torchvisions():
    """The factor ranges torchvision's ColorJitter(0.4, 0.4, 0.2, 0.1) draws
    from (its get_params: brightness, contrast, saturation, hue)."""
    reference = T.ColorJitter(0.4, 0.4, 0.2, 0.1)
    names = ('brightness', 'contrast', 'saturation', 'hue')
    expected = np.array([getattr(reference, name) for name in names], float)
    np.testing.assert_allclose(np.array(ColorJitter().bounds), expected)
    np.testing.assert_allclose(expected, [(0.6, 1.4), (0.6, 1.4), (0.8, 1.2),
                                          (-0.1, 0.1)])


def test_color_jitter_draws_as_randomapply_of_torchvisions():
    """RandomApply(p=0.8): jittered 80 % of the time; then a uniformly random
    order of the four operations (torch.randperm) and each factor uniform in
    its range, whatever the order (get_params). Counts are checked against
    their binomial spread (about 4.5 sigma)."""
    drawn = []
    jitter = ColorJitter()  # the recipes' settings
    jitter.jitter = lambda img, order, factors: drawn.append(
        (tuple(order), list(factors))) or img
    np.random.seed(3)
    calls = 4800
    for _ in range(calls):
        jitter(dict(img=IMG))
    assert abs(len(drawn) - 0.8 * calls) <= 4.5 * (calls * 0.8 * 0.2)**0.5
    orders = [order for order, _ in drawn]
    expected_count = len(drawn) / 24  # every permutation of 4 equally likely
    counts = {order: orders.count(order) for order in set(orders)}
    spread = 4.5 * (expected_count * (1 - 1 / 24))**0.5
    assert len(counts) == 24
    assert all(abs(c - expected_count) <= spread for c in counts.values())
    factors = np.array([f for _, f in drawn])
    for index, (low, high) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.8, 1.2),
                                         (-0.1, 0.1)]):
        column = factors[:, index]
        assert low <= column.min() < low + 0.01
        assert high - 0.01 < column.max() <= high
        # uniform: mean at the centre, variance width**2 / 12
        width = high - low
        sem = width / 12**0.5 / len(column)**0.5
        assert abs(column.mean() - (low + high) / 2) <= 4.5 * sem
        assert column.var() == pytest.approx(width**2 / 12, rel=0.1)
        # independent of where the operation comes in the order
        firsts = column[[order[0] == index for order in orders]]
        assert abs(firsts.mean() - (low + high) / 2) <= 4.5 * sem * 2


def test_a_v2_view_chain_matches_the_reference():
    """Jitter -> grayscale -> blur -> solarize, the reference's V2/V3 steps
    (transform.py:35-47) with every random step taken."""
    order, factors = [2, 3, 0, 1], [1.21, 0.74, 0.87, 0.06]
    ours = ColorJitter().jitter(PHOTO, order, factors)
    for step in [
            RandomGrayscale(prob=1.0),
            RandomGaussianBlur(prob=1.0, sigma=(1.3, 1.3)),
            RandomSolarize(prob=1.0)
    ]:
        ours = step(dict(img=ours))['img']
    image = _torchvision_jitter(_pil(PHOTO), order, factors)
    image = T.RandomGrayscale(p=1.0)(image)
    image = image.filter(ImageFilter.GaussianBlur(radius=1.3))
    image = ImageOps.solarize(image)
    np.testing.assert_array_equal(ours, _bgr(image))
    assert not np.array_equal(ours, PHOTO)


def test_backend_cv2_is_the_approximation():
    order, factors = [0, 1, 2, 3], [1.3, 0.7, 1.1, 0.08]
    pil = ColorJitter().jitter(PHOTO, order, factors)
    cv2_out = ColorJitter(backend='cv2').jitter(PHOTO, order, factors)
    diff = np.abs(pil.astype(int) - cv2_out)
    assert 0 < diff.max() <= 12 and diff.mean() < 2.5  # 9 / 1.6 measured
    assert ColorJitter(backend='cv2').adjustments[3] is \
        BACKENDS['cv2'].adjust_hue


def test_recipes_use_the_reference_pixels():
    config = osp.join(
        osp.dirname(__file__), '..', '..', '..', 'configs', '_base_',
        'datasets', 'soco_fpn_imagenet.py')
    steps = Config.fromfile(config).train_dataloader.dataset.pipeline
    for step in (s for s in steps if s['type'] == 'ApplyToViews'):
        for spec in step['transforms']:
            assert TRANSFORMS.build(spec).backend == 'pil'


def test_bad_settings_name_the_fix():
    with pytest.raises(ValueError, match="'cv2', 'pil'"):
        ColorJitter(backend='torch')
    with pytest.raises(ValueError, match="needs backend='cv2'"):
        RandomGaussianBlur(kernel_size=5)
    with pytest.raises(ValueError, match='odd'):
        RandomGaussianBlur(kernel_size=4, backend='cv2')
    with pytest.raises(ValueError, match=r'\[0, 0.5\]'):
        ColorJitter(hue=0.6)
    assert "backend='cv2'" in repr(RandomSolarize(backend='cv2'))


@pytest.mark.parametrize('backend', sorted(BACKENDS))
def test_probabilities_and_identity(backend):
    np.random.seed(0)
    assert ColorJitter(prob=0.0)(dict(img=IMG))['img'] is IMG
    jitter = ColorJitter(0, 0, 0, 0, prob=1.0, backend=backend)
    np.testing.assert_array_equal(jitter(dict(img=IMG.copy()))['img'], IMG)
    changed = [
        not np.array_equal(
            ColorJitter(prob=1.0, backend=backend)(dict(img=IMG))['img'], IMG)
        for _ in range(20)
    ]
    assert all(changed)
    solarize = RandomSolarize(prob=0.2, backend=backend)
    counts = sum(not np.array_equal(solarize(dict(img=IMG))['img'], IMG)
                 for _ in range(1000))
    assert 140 <= counts <= 260
    gray = RandomGrayscale(prob=0.2, backend=backend)
    counts = sum(not np.array_equal(gray(dict(img=IMG))['img'], IMG)
                 for _ in range(1000))
    assert 140 <= counts <= 260
    blurred = RandomGaussianBlur(backend=backend)(dict(img=IMG))['img']
    assert not np.array_equal(blurred, IMG) and blurred.dtype == np.uint8


def test_blur_sigma_range_is_drawn_per_call():
    sigmas = []
    blur = RandomGaussianBlur(sigma=(0.1, 2.0))
    blur.gaussian_blur = lambda img, sigma: sigmas.append(sigma) or img
    np.random.seed(1)
    for _ in range(2000):
        blur(dict(img=IMG))
    assert len(sigmas) == 2000 and 0.1 <= min(sigmas) < max(sigmas) <= 2.0
    # np.random.uniform(0.1, 2.0), as the reference's GaussianBlur draws it
    # (transform.py:20): mean 1.05, variance 1.9**2 / 12
    assert abs(np.mean(sigmas) - 1.05) <= 4.5 * 1.9 / 12**0.5 / 2000**0.5
    assert np.var(sigmas) == pytest.approx(1.9**2 / 12, rel=0.1)


def test_apply_to_views_touches_only_chosen_views():
    views = [dict(img=IMG.copy()) for _ in range(3)]
    wrapper = ApplyToViews(
        views=[1, 2], transforms=[dict(type='RandomSolarize', prob=1.0)])
    out = wrapper(dict(views=views))['views']
    np.testing.assert_array_equal(out[0]['img'], IMG)
    np.testing.assert_array_equal(out[1]['img'],
                                  _bgr(ImageOps.solarize(_pil(IMG))))
    with pytest.raises(IndexError, match='view 5'):
        ApplyToViews(views=[5], transforms=[])(dict(views=views))
    with pytest.raises(KeyError, match='views'):
        wrapper(dict(img=IMG))

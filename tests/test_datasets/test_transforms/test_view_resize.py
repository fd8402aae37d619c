"""View resizing matches the reference's PIL antialiased bilinear."""
import numpy as np
import pytest
import skimage.data
from PIL import Image

from mmsoco.datasets.transforms import MultiViewBoxJitter
from mmsoco.datasets.transforms.view_pixels import crop_and_resize

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


def _photo(name):
    return np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])


def _pil(img, window, size):
    """torchvision's resized_crop on a PIL image: crop, then resize."""
    return np.asarray(
        Image.fromarray(img).crop(window).resize(size, Image.BILINEAR)).astype(
            np.float64)


def _windows(img):
    height, width = img.shape[:2]
    side = min(400, height, width)
    x1, y1 = (width - side) // 2 + 3, (height - side) // 2
    side = min(side, width - x1)
    return [((0, 0, width, height), (224, 224)),
            ((x1, y1, x1 + side, y1 + side), (112, 112))]


@pytest.mark.parametrize('name', PHOTOS)
def test_v1_and_v3_are_pils_pixels(name):
    """Pillow itself crops and resizes: the reference's pixels, exactly."""
    img = _photo(name)
    for window, size in _windows(img):
        ours = crop_and_resize(img, window, size)
        assert ours.shape == (size[1], size[0], 3) and ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, _pil(img, window, size))


def test_cv2_linear_is_the_named_non_antialiased_option():
    img = _photo('astronaut')  # 512 -> 224: more than 2x
    window, size = _windows(img)[0]
    cv2_view = crop_and_resize(img, window, size, resizer='cv2_linear')
    assert np.abs(cv2_view - _pil(img, window, size)).mean() > 1.0
    with pytest.raises(ValueError, match='resizer'):
        MultiViewBoxJitter(resizer='area')


def test_transform_views_are_pil_resized_crops():
    """V1 and the crop views as the transform makes them (no flip)."""
    img = _photo('coffee')
    transform = MultiViewBoxJitter(flip_prob=0.0)
    np.random.seed(0)
    results = transform(
        dict(
            img=img,
            proposals=np.array([[100, 100, 300, 300]], np.float32),
            proposal_ids=np.array([0])))
    for view, size in zip(results['views'], (224, 224, 112)):
        expected = _pil(img, view['crop'], (size, size))
        np.testing.assert_array_equal(view['img'], expected)

"""LoadImageWithPIL decodes every kind of image as the reference does:
``PIL.Image.open(f).convert('RGB')``, EXIF orientation ignored."""
import re

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmsoco.datasets.transforms.loading import (LoadImageWithPIL,
                                                loader_exif_orientation)
from mmsoco.proposals.decode import ImageDecodeError


def reference_decode(path):
    """The reference's loader (``contrast/data/dataset.py``), as BGR."""
    with open(path, 'rb') as f:
        img = Image.open(f)
        rgb = np.asarray(img.convert('RGB'))
    return rgb[:, :, ::-1]


def _photo(w=48, h=32):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 5 % 256, y * 7 % 256, (x + y) * 3 % 256],
                    -1).astype(np.uint8)


@pytest.fixture
def kinds(tmp_path):
    """One file of every mode the reference's convert('RGB') handles."""
    rgb = Image.fromarray(_photo())
    files = {}

    def save(name, img, **kwargs):
        files[name] = str(tmp_path / name)
        img.save(files[name], **kwargs)

    save('rgb.jpg', rgb, quality=90)
    save('progressive.jpg', rgb, quality=90, progressive=True)
    save('gray.png', rgb.convert('L'))
    save('palette.png', rgb.convert('P'))
    save('cmyk.jpg', rgb.convert('CMYK'))
    save('gray_alpha.png', rgb.convert('LA'))
    save('rgba.png', rgb.convert('RGBA'))
    save('deep16.png',
         Image.fromarray(_photo()[:, :, 0].astype(np.uint16) * 200))
    exif = rgb.getexif()
    exif[0x0112] = 6  # view rotated 90 degrees clockwise
    save('orientation6.jpg', rgb, exif=exif.tobytes(), quality=90)
    return files


def test_every_kind_is_decoded_as_the_reference(kinds):
    load = LoadImageWithPIL()
    for name, path in kinds.items():
        out = load(dict(img_path=path))
        np.testing.assert_array_equal(
            out['img'], reference_decode(path), err_msg=name)
        assert out['img'].flags['C_CONTIGUOUS'] and out['img'].flags.writeable
        assert out['img_shape'] == out['ori_shape'] == (32, 48)
        assert out['exif_orientation'] is False


def test_an_undecodable_file_is_named(tmp_path):
    """Pillow's own message names a BytesIO; the loader names the file."""
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    truncated = tmp_path / 'truncated.png'
    Image.fromarray(_photo()).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    for path in (text, truncated):
        with pytest.raises(
                ImageDecodeError,
                match=f'image {re.escape(str(path))} cannot be decoded'):
            LoadImageWithPIL()(dict(img_path=str(path)))


def test_exif_orientation_option_turns_the_image_upright(kinds):
    path = kinds['orientation6.jpg']
    out = LoadImageWithPIL(exif_orientation=True)(dict(img_path=path))
    assert out['img'].shape == (48, 32, 3) and out['exif_orientation']
    # Orientation 6: the stored image turned 90 degrees clockwise.
    np.testing.assert_array_equal(out['img'],
                                  np.rot90(reference_decode(path), k=-1))
    # What mmcv's default loader (OpenCV) makes of it.
    opencv = LoadImageFromFile()(dict(img_path=path))['img']
    assert opencv.shape == (48, 32, 3)
    assert np.abs(opencv.astype(int) - out['img'].astype(int)).max() <= 2


def test_loader_conventions():
    assert loader_exif_orientation(LoadImageWithPIL()) is False
    assert loader_exif_orientation(LoadImageWithPIL(True)) is True
    assert loader_exif_orientation(LoadImageFromFile()) is True
    assert loader_exif_orientation(
        LoadImageFromFile(color_type='color_ignore_orientation')) is False
    assert loader_exif_orientation(
        LoadImageFromFile(imdecode_backend='pillow')) is True
    assert loader_exif_orientation(
        LoadImageFromFile(color_type='unchanged',
                          imdecode_backend='pillow')) is False
    # TurboJPEG.decode takes no orientation: the stored frame, whatever the
    # colour type (mmcv/image/io.py, imfrombytes).
    for color_type in ('color', 'grayscale'):
        assert loader_exif_orientation(
            LoadImageFromFile(
                color_type=color_type, imdecode_backend='turbojpeg')) is False
    assert loader_exif_orientation(object()) is None


def test_mmcv_decoders_as_classified(kinds):
    """The classification against what mmcv's decoders (those installed:
    cv2 and pillow) make of an orientation-6 JPEG (stored 48 x 32)."""
    path = kinds['orientation6.jpg']
    for backend in ('cv2', 'pillow'):
        for color_type in ('color', 'grayscale', 'color_ignore_orientation',
                           'grayscale_ignore_orientation', 'unchanged'):
            loader = LoadImageFromFile(
                color_type=color_type, imdecode_backend=backend)
            height = loader(dict(img_path=path))['img'].shape[0]
            turned = height == 48
            assert loader_exif_orientation(loader) is turned, \
                (backend, color_type)


def test_opencv_ignoring_orientation_matches_on_rgb_and_gray_jpegs(kinds):
    """The faster option named in docs/reference_parity.md: mmcv's loader
    with color_type='color_ignore_orientation' gives the reference's pixels
    on RGB and grayscale JPEGs (libjpeg on both sides)."""
    gray = kinds['gray.png'].replace('.png', '.jpg')
    cv2.imwrite(gray, cv2.imread(kinds['gray.png'], cv2.IMREAD_GRAYSCALE))
    load = LoadImageFromFile(color_type='color_ignore_orientation')
    for path in (kinds['rgb.jpg'], kinds['progressive.jpg'],
                 kinds['orientation6.jpg'], gray):
        np.testing.assert_array_equal(
            load(dict(img_path=path))['img'], reference_decode(path))

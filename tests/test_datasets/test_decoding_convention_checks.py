"""SoCoImageDataset refuses, at start, a loader whose decoding convention
(EXIF orientation applied or ignored) differs from its proposal store's,
naming both and the setting that fixes it (docs/method.md section 1.7)."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image
from proposal_check_files import BOX, build_dataset, write_images

from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_exchange import import_reference_json
from mmsoco.proposals.store_format import ProposalStoreError
from mmsoco.proposals.store_writer import write_store


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmsoco')


def _as_written_before_the_convention(store):
    """Drop what meta.json did not record then: the convention, the key
    form."""
    meta_path = osp.join(store, 'meta.json')
    with open(meta_path) as f:
        meta = json.load(f)
    for key in ('exif_orientation', 'key_form'):
        del meta[key]
    with open(meta_path, 'w') as f:
        json.dump(meta, f)


def _orientation6(folder):
    """A 30 x 20 JPEG stored landscape, EXIF orientation 6 (view portrait)."""
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.full((20, 30, 3), 128, np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(str(folder / 'rot.jpg'), exif=exif.tobytes(), quality=95)


def test_loader_in_another_orientation_than_the_store_is_refused(tmp_path):
    _orientation6(tmp_path / 'img')
    # Boxes that fit the stored 30 x 20 frame only (x2 = 28 > 20).
    boxes = np.array([[2, 1, 28, 19]], np.float32)
    store = write_store(
        str(tmp_path / 'store'), [('rot.jpg', boxes, (30, 20))])
    dataset = build_dataset(tmp_path / 'img', store)
    out = dataset[0]
    assert out['img'].shape == (20, 30, 3)  # the reference's frame
    np.testing.assert_array_equal(out['proposals'], boxes)
    # mmcv's default loader turns the image upright: refused at start.
    with pytest.raises(ValueError) as err:
        build_dataset(
            tmp_path / 'img', store, load=dict(type='LoadImageFromFile'))
    message = str(err.value)
    assert 'EXIF orientation ignored' in message
    assert 'LoadImageFromFile decodes with EXIF orientation applied' in message
    assert 'LoadImageWithPIL(exif_orientation=False)' in message
    # mmcv's loader told to ignore the tag is in the store's frame.
    dataset = build_dataset(
        tmp_path / 'img',
        store,
        load=dict(
            type='LoadImageFromFile', color_type='color_ignore_orientation'))
    np.testing.assert_array_equal(dataset[0]['proposals'], boxes)


def test_store_from_before_the_convention_asks_for_exif(tmp_path):
    _orientation6(tmp_path / 'img')
    store = write_store(
        str(tmp_path / 'store'),
        [('rot.jpg', np.array([[1, 2, 19, 28]]), (20, 30))],
        exif_orientation=True)
    _as_written_before_the_convention(store)
    with pytest.raises(ValueError) as err:
        build_dataset(tmp_path / 'img', store)
    message = str(err.value)
    assert 'predates the recorded convention' in message
    assert 'LoadImageWithPIL(exif_orientation=True)' in message
    dataset = build_dataset(
        tmp_path / 'img',
        store,
        load=dict(type='LoadImageWithPIL', exif_orientation=True))
    assert dataset[0]['img'].shape == (30, 20, 3)  # upright


def test_reference_import_is_in_the_reference_frame(tmp_path):
    """The authors' boxes of an orientation-6 image are in its stored frame:
    they import (checked against the stored size) and load."""
    _orientation6(tmp_path / 'img')
    ref = tmp_path / 'ref.json'
    ref.write_text(json.dumps({'rot': [[2, 1, 25, 17]]}))  # x2 = 28 > 20
    store = import_reference_json(
        str(ref), str(tmp_path / 'store'), img_root=str(tmp_path / 'img'))
    opened = ProposalStore(store)
    assert opened.size('rot.jpg') == (30, 20)
    assert opened.exif_orientation is False
    dataset = build_dataset(tmp_path / 'img', store)
    np.testing.assert_array_equal(dataset[0]['proposals'], [[2, 1, 28, 19]])


def test_store_from_before_the_convention_imported_with_sizes_is_refused(
        tmp_path):
    """A reference JSON imported with IMG_ROOT by an older mmsoco: the
    reference's boxes (stored frame) with sizes read EXIF-rotated (the old
    importer swapped W and H for orientations 5-8), and no recorded
    convention. Read as the reference's frame, the rotated image would fail
    the size check with a message about its size; it is refused, naming the
    command that imports it again."""
    _orientation6(tmp_path / 'img')  # stored 30 x 20, viewed 20 x 30
    out = tmp_path / 'proposals'
    store = write_store(
        str(out / 'store'),
        [('rot.jpg', np.array([[2, 1, 18, 19]]), (20, 30))],
        meta=dict(source='/data/ref.json', source_format='reference_json'))
    _as_written_before_the_convention(store)
    for check in (True, False):
        with pytest.raises(ProposalStoreError) as err:
            build_dataset(
                tmp_path / 'img', store, check_proposals_at_start=check)
        message = str(err.value)
        assert 'image sizes were read with the EXIF orientation applied' in (
            message)
        assert (f'python tools/generate_proposals.py IMG_ROOT {out} '
                '--import-reference /data/ref.json') in message
    # The same import without IMG_ROOT had no sizes: the reference's frame.
    unsized = write_store(
        str(tmp_path / 'unsized'),
        [('rot.jpg', np.array([[2, 1, 18, 19]]), (-1, -1))],
        meta=dict(source='/data/ref.json', source_format='reference_json'))
    _as_written_before_the_convention(unsized)
    dataset = build_dataset(tmp_path / 'img', unsized)
    assert dataset[0]['img'].shape == (20, 30, 3)


# -- the loader's convention, whatever check_proposals_at_start says ----------
def test_loader_convention_is_checked_without_the_proposal_checks(tmp_path):
    """mmcv's loader tags no sample with its convention: an image with EXIF
    orientation 2-4 keeps its size and would pass every per-sample check
    with its boxes in the wrong frame. The dataset refuses the loader at
    start even with check_proposals_at_start=False."""
    write_images(tmp_path / 'img', ['a.png'])
    store = write_store(str(tmp_path / 'store'), [('a.png', BOX, (16, 12))])
    for load in (dict(type='LoadImageFromFile'),
                 dict(type='LoadImageWithPIL', exif_orientation=True)):
        with pytest.raises(
                ValueError, match='decodes with EXIF orientation '
                'applied'):
            build_dataset(
                tmp_path / 'img',
                store,
                load=load,
                check_proposals_at_start=False)
    # TurboJPEG ignores the tag: in the store's frame (not decoded here).
    dataset = build_dataset(
        tmp_path / 'img',
        store,
        load=dict(type='LoadImageFromFile', imdecode_backend='turbojpeg'),
        check_proposals_at_start=False)
    assert len(dataset) == 1

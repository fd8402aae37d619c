"""SelectiveSearchProposals: boxes from the store with stable ids, or computed + cached."""
import logging
import os
import pickle

import cv2
import mmcv
import numpy as np
import pytest

from mmsoco.datasets.transforms.proposals import ProposalImageMismatch
from mmsoco.proposals.compute import compute_proposals
from mmsoco.proposals.store_writer import write_store
from mmsoco.registry import TRANSFORMS


def _scene(w, h, seed):
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 190, np.uint8)
    for _ in range(4):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        cv2.rectangle(
            img, (x, y),
            (x + int(rng.integers(15, 50)), y + int(rng.integers(15, 50))),
            tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


@pytest.fixture
def images(tmp_path):
    root = tmp_path / 'imgs'
    (root / 'cls').mkdir(parents=True)
    paths = []
    for i in range(2):
        path = str(root / 'cls' / f'{i}.png')  # lossless: exact pixels
        cv2.imwrite(path, _scene(96, 64, i))
        paths.append(path)
    return str(root), paths


def _results(path):
    """What SoCoImageDataset + LoadImageFromFile give the transform; the
    store key is the path under the fixture's root (``cls/N.png``)."""
    img = mmcv.imread(path)
    key = '/'.join(path.replace(os.sep, '/').split('/')[-2:])
    return dict(
        img_path=path,
        img_key=key,
        img=img,
        ori_shape=img.shape[:2],
        img_shape=img.shape[:2])


def test_store_boxes_and_stable_ids(images, tmp_path):
    root, paths = images
    boxes = np.array([[0, 0, 96, 64], [10, 5, 30, 15], [1, 2, 50, 60]],
                     np.float32)
    store = write_store(
        str(tmp_path / 'store'), [('cls/0.png', boxes, (96, 64)),
                                  ('cls/1.png', boxes[:1], (96, 64))])
    t = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', store_path=store))
    for _ in range(2):  # same ids every epoch
        out = t(_results(paths[0]))
        np.testing.assert_array_equal(out['proposals'], boxes)
        assert out['proposals'].dtype == np.float32
        np.testing.assert_array_equal(out['proposal_ids'], [0, 1, 2])
        assert out['proposal_ids'].dtype == np.int64
    np.testing.assert_array_equal(
        t(_results(paths[1]))['proposals'], boxes[:1])
    # Worker copies re-open the store lazily instead of carrying it.
    assert t._store is not None
    clone = pickle.loads(pickle.dumps(t))
    assert clone._store is None
    np.testing.assert_array_equal(
        clone(_results(paths[0]))['proposals'], boxes)


def test_missing_image_and_size_mismatch_name_the_image(images, tmp_path):
    root, paths = images
    store = write_store(
        str(tmp_path / 'store'),
        [('cls/0.png', np.array([[0, 0, 5, 5]]), (64, 96))])
    t = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', store_path=store))
    with pytest.raises(KeyError, match=r"cls/1.png.*no proposals"):
        t(_results(paths[1]))
    with pytest.raises(ProposalImageMismatch, match=r'0.png is 96x64.*64x96'):
        t(_results(paths[0]))


def test_basename_keys_check_bounds_without_sizes(images, tmp_path):
    root, paths = images
    store = write_store(
        str(tmp_path / 'store'),
        [('0.png', np.array([[0, 0, 97, 5]]), (-1, -1))])
    t = TRANSFORMS.build(
        dict(
            type='SelectiveSearchProposals',
            store_path=store,
            key_from='basename'))
    with pytest.raises(ValueError, match='0.png.*exceed'):
        t(_results(paths[0]))


def test_compute_and_cache_without_store(images, tmp_path, monkeypatch):
    root, paths = images
    cache = str(tmp_path / 'cache')
    t = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', cache_dir=cache))
    out = t(_results(paths[0]))
    # Independent expectation: compute_proposals on the RGB image.
    rgb = cv2.imread(paths[0])[:, :, ::-1].copy()
    expected = compute_proposals(rgb, rule='ratio3size0308').boxes
    np.testing.assert_array_equal(out['proposals'], expected)
    np.testing.assert_array_equal(out['proposal_ids'],
                                  np.arange(len(expected)))
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith('.npy')  # no temp leftovers

    # From now on computing is an error: the LRU and the disk cache answer.
    import mmsoco.proposals.compute as compute

    def boom(*args, **kwargs):
        raise AssertionError('recomputed')

    monkeypatch.setattr(compute, 'proposals_of_image', boom)
    np.testing.assert_array_equal(t(_results(paths[0]))['proposals'], expected)
    fresh = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', cache_dir=cache))
    np.testing.assert_array_equal(
        fresh(_results(paths[0]))['proposals'], expected)
    # Other parameters are another cache entry.
    other = TRANSFORMS.build(
        dict(
            type='SelectiveSearchProposals',
            cache_dir=cache,
            compute_cfg=dict(rule=None)))
    with pytest.raises(AssertionError, match='recomputed'):
        other(_results(paths[0]))


def test_a_damaged_cache_entry_is_recomputed_counted_and_named(
        images, tmp_path, monkeypatch):
    from mmsoco.datasets.transforms import proposals
    warned = []
    monkeypatch.setattr(proposals, 'print_log',
                        lambda msg, logger, level: warned.append((level, msg)))
    root, paths = images
    cache = tmp_path / 'cache'
    t = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', cache_dir=str(cache)))
    expected = t(_results(paths[0]))['proposals']
    (entry, ) = cache.iterdir()
    for damage in (b'\x93NUMPY truncated', None):
        if damage is None:  # a readable array of the wrong shape
            np.save(entry, np.zeros((3, 5), np.float32))
        else:
            entry.write_bytes(damage)
        fresh = TRANSFORMS.build(
            dict(type='SelectiveSearchProposals', cache_dir=str(cache)))
        np.testing.assert_array_equal(
            fresh(_results(paths[0]))['proposals'], expected)
        assert fresh.num_cache_rewrites == 1
        np.testing.assert_array_equal(np.load(entry), expected)  # rewritten
    assert [level for level, _ in warned] == [logging.WARNING] * 2
    assert warned[0][1].startswith(
        f'proposal cache entry {entry} of image {paths[0]} is unreadable')
    assert warned[1][1].endswith(
        'is an array of shape (3, 5), not (N, 4); recomputing it '
        '(1 so far in this process)')


def test_compute_refuses_an_already_resized_image(images):
    _, paths = images
    t = TRANSFORMS.build(dict(type='SelectiveSearchProposals'))
    results = _results(paths[0])
    results['img'] = cv2.resize(results['img'], (48, 32))
    with pytest.raises(ValueError, match='already resized'):
        t(results)


def test_bad_key_from():
    with pytest.raises(ValueError, match='key_from'):
        TRANSFORMS.build(
            dict(type='SelectiveSearchProposals', key_from='extension'))


def test_a_sample_decoded_in_another_orientation_is_refused(images, tmp_path):
    _, paths = images
    store = write_store(
        str(tmp_path / 'store'),
        [('cls/0.png', np.array([[0, 0, 5, 5]]), (96, 64))])
    t = TRANSFORMS.build(
        dict(type='SelectiveSearchProposals', store_path=store))
    results = _results(paths[0])
    results['exif_orientation'] = True  # as LoadImageWithPIL(True) tags it
    with pytest.raises(
            ValueError,
            match=r'0.png: .*EXIF orientation ignored'
            r'.*LoadImageWithPIL\(exif_orientation=False\)'):
        t(results)
    results['exif_orientation'] = False
    np.testing.assert_array_equal(t(results)['proposals'], [[0, 0, 5, 5]])


def test_cache_dir_relative_to_the_image_root(images, tmp_path, monkeypatch):
    """``{img_root}`` in cache_dir is the folder the image key is relative
    to: the cache lands beside the images whatever the working directory."""
    root, paths = images  # root = tmp_path/imgs, keys cls/N.png
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    t = TRANSFORMS.build(
        dict(
            type='SelectiveSearchProposals',
            cache_dir='{img_root}/../proposal_cache'))
    t(_results(paths[0]))
    assert len(os.listdir(tmp_path / 'proposal_cache')) == 1
    assert os.listdir(elsewhere) == []
    no_key = _results(paths[1])
    del no_key['img_key']
    with pytest.raises(
            ValueError, match=r'(?s)\{img_root\}.*1\.png.*plain '
            'cache_dir'):
        t(no_key)

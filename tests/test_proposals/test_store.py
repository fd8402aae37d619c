"""ProposalStore: writer, memory-mapped reader, validation, import / export."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_format import ProposalStoreError
from mmsoco.proposals.store_writer import write_store
from mmsoco.utils.atomic_files import current_umask


def _items(rng, keys):
    items = []
    for k in keys:
        n = int(rng.integers(0, 6))
        xy = rng.integers(0, 50, (n, 2))
        wh = rng.integers(1, 40, (n, 2))
        items.append((k, np.concatenate([xy, xy + wh],
                                        1).astype(np.float32), (100, 100)))
    return items


def test_round_trip_and_lookup_against_a_dict(tmp_path):
    rng = np.random.default_rng(0)
    keys = [f'n{c:08d}/n{c:08d}_{i}.JPEG' for c in range(7) for i in range(9)]
    keys += ['é/ünïcode.jpg', 'a.jpg', 'a.jpg.png', 'z/empty.jpg']
    items = _items(rng, keys)
    items[-1] = ('z/empty.jpg', np.zeros((0, 4), np.float32), (5, 5))
    expected = {k: b for k, b, _ in items}
    rng.shuffle(items)  # the writer sorts
    path = write_store(str(tmp_path / 'store'), items)
    store = ProposalStore(path, validate=True)
    assert len(store) == len(keys)
    assert list(store.keys()) == sorted(keys)
    for k, boxes in expected.items():
        assert k in store
        got = store[k]
        assert got.dtype == np.float32 and got.shape == (len(boxes), 4)
        np.testing.assert_array_equal(got, boxes)
    assert store.size('z/empty.jpg') == (5, 5)
    for absent in ['', 'a', 'a.jp', 'n00000000', 'zz.jpg', 'A.jpg', 0]:
        assert absent not in store
    with pytest.raises(KeyError, match='zz.jpg'):
        store['zz.jpg']
    # Integral boxes are stored compactly, read back as float32.
    assert store.meta['box_dtype'] == 'uint16'


def test_fractional_boxes_keep_float32(tmp_path):
    boxes = np.array([[0.5, 1.25, 10.75, 20.5]], np.float32)
    store = ProposalStore(
        write_store(str(tmp_path / 's'), [('a.jpg', boxes, (-1, -1))]))
    assert store.meta['box_dtype'] == 'float32'
    np.testing.assert_array_equal(store['a.jpg'], boxes)
    assert store.size('a.jpg') == (-1, -1)


@pytest.mark.parametrize('box,reason', [
    ([0, 0, 65, 10], 'out of bounds'),
    ([0, 0, 10, 49], 'out of bounds'),
    ([-1, 0, 10, 10], 'negative'),
    ([np.nan, 0, 10, 10], 'NaN'),
    ([5, 0, 5, 10], 'empty box'),
])
def test_writer_refuses_bad_boxes_naming_the_image(tmp_path, box, reason):
    items = [('good.jpg', np.array([[0, 0, 64, 48]]), (64, 48)),
             ('dir/bad.jpg', np.array([[1, 1, 2, 2], box]), (64, 48))]
    with pytest.raises(ProposalStoreError, match=reason) as e:
        write_store(str(tmp_path / 'store'), items)
    assert 'dir/bad.jpg' in str(e.value) and 'good.jpg' not in str(e.value)
    assert not osp.exists(tmp_path / 'store')
    assert os.listdir(tmp_path) == []  # no temp leftovers either


def test_open_validate_names_out_of_bounds_image(tmp_path):
    path = write_store(
        str(tmp_path / 'store'), [
            ('a.jpg', np.array([[0, 0, 10, 10]]), (20, 20)),
            ('b.jpg', np.array([[0, 0, 10, 10], [2, 2, 4, 4]]), (20, 20)),
        ])
    # Tamper with the box array behind the writer's back.
    boxes = np.load(osp.join(path, 'boxes.npy'))
    boxes[2] = (2, 2, 25, 4)  # b.jpg's second box, beyond W = 20
    np.save(osp.join(path, 'boxes.npy'), boxes)
    ProposalStore(path)  # the cheap structural open still works
    with pytest.raises(ProposalStoreError, match=r"'b.jpg'.*out of bounds"):
        ProposalStore(path, validate=True)


def test_incomplete_or_corrupt_store_is_refused(tmp_path):
    path = write_store(
        str(tmp_path / 'store'),
        [('a.jpg', np.array([[0, 0, 10, 10]]), (20, 20))])
    np.save(osp.join(path, 'box_offsets.npy'), np.array([0, 5]))
    with pytest.raises(ProposalStoreError, match='corrupt'):
        ProposalStore(path)
    os.remove(osp.join(path, 'keys.bin'))
    with pytest.raises(ProposalStoreError, match='missing keys.bin'):
        ProposalStore(path)


def test_a_store_that_is_not_there_says_so(tmp_path):
    path = str(tmp_path / 'proposals' / 'imagenet_train')
    with pytest.raises(
            FileNotFoundError, match=f'proposal store {path} does not exist'):
        ProposalStore(path)
    (tmp_path / 'file').write_text('')
    with pytest.raises(ProposalStoreError, match='is a file, not a store'):
        ProposalStore(str(tmp_path / 'file'))


def test_duplicates_and_overwrite(tmp_path):
    one = ('a.jpg', np.array([[0, 0, 1, 1]]), (2, 2))
    with pytest.raises(ProposalStoreError, match="duplicate keys: 'a.jpg'"):
        write_store(str(tmp_path / 's'), [one, one])
    path = write_store(str(tmp_path / 's'), [one])
    with pytest.raises(FileExistsError):
        write_store(path, [one])
    write_store(
        path, [('b.jpg', np.array([[0, 0, 1, 1]]), (2, 2))], overwrite=True)
    assert list(ProposalStore(path).keys()) == ['b.jpg']
    assert sorted(os.listdir(tmp_path)) == ['s']


def test_check_keys_names_missing_images(tmp_path):
    store = ProposalStore(
        write_store(
            str(tmp_path / 's'),
            [('a.jpg', np.array([[0, 0, 1, 1]]), (2, 2))]))
    store.check_keys(['a.jpg'])
    with pytest.raises(KeyError, match=r"2 image\(s\).*'b.jpg', 'c.jpg'"):
        store.check_keys(['a.jpg', 'b.jpg', 'c.jpg'])


def test_pickled_store_reopens_instead_of_copying(tmp_path):
    boxes = np.arange(400, dtype=np.float32).reshape(100, 4) % 50
    boxes[:, 2:] = boxes[:, :2] + 1
    store = ProposalStore(
        write_store(str(tmp_path / 's'), [('a.jpg', boxes, (60, 60))]))
    blob = pickle.dumps(store)
    assert len(blob) < 300  # the path, not the arrays
    np.testing.assert_array_equal(pickle.loads(blob)['a.jpg'], boxes)


def test_store_permissions_follow_the_umask(tmp_path):
    path = write_store(
        str(tmp_path / 's'), [('a.jpg', np.array([[0, 0, 1, 1]]), (2, 2))])
    umask = current_umask()
    # Not mkdtemp's 0700: other users of a shared data dir can read it.
    assert os.stat(path).st_mode & 0o777 == 0o777 & ~umask
    assert os.stat(osp.join(path, 'boxes.npy')).st_mode & 0o777 == \
        0o666 & ~umask

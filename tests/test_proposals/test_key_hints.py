"""How a store's keys relate to a dataset's, worked out by hand."""
import numpy as np
import pytest

from mmsoco.proposals.key_hints import (find_relation, relations_of,
                                        suggest_key_fix)
from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_writer import write_store


@pytest.mark.parametrize('store_key, dataset_key, expected', [
    ('train/n01/a.JPEG', 'n01/a.JPEG', [('add', 'train/')]),
    ('n01/a.JPEG', 'train/n01/a.JPEG', [('strip', 'train/')]),
    ('a.JPEG', 'n01/a.JPEG', [('basename', ''), ('strip', 'n01/')]),
    ('a', 'n01/a.JPEG', [('stem', '')]),
    ('a', 'a.JPEG', [('stem', '')]),
    ('b.JPEG', 'n01/a.JPEG', []),
])
def test_relations(store_key, dataset_key, expected):
    assert relations_of(store_key, dataset_key) == expected


def _store(tmp_path, keys, **kwargs):
    box = np.array([[0, 0, 1, 1]])
    return ProposalStore(
        write_store(
            str(tmp_path / 's'), [(k, box, (-1, -1)) for k in keys], **kwargs))


def test_file_names_of_many_folders_are_a_key_form(tmp_path):
    """ImageNet's layout: each class folder is a different prefix, so only
    the file-name form finds every image."""
    dataset = [
        f'n{c:02d}/n{c:02d}_{i}.JPEG' for c in range(5) for i in range(4)
    ]
    store = _store(tmp_path, [k.split('/')[1] for k in dataset])
    fit = find_relation(dataset, store)
    assert fit.relation == ('basename', '') and fit.found == fit.checked == 20
    assert "set key_from='basename'" in suggest_key_fix(dataset, store)


def test_unrelated_keys_get_no_advice(tmp_path):
    store = _store(tmp_path, ['x/1.jpg', 'x/2.jpg'])
    assert suggest_key_fix(['a/3.jpg', 'b/4.jpg'], store) is None
    # One of four found is no relation worth naming.
    store = _store(tmp_path / 'b', ['p/a/1.jpg'])
    assert suggest_key_fix(['a/1.jpg', 'a/2.jpg', 'a/3.jpg', 'a/4.jpg'],
                           store) is None

"""One image lister, one list-file reader, one key: the dataset and the
proposal generation agree on every awkward case."""
import json
import os

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmsoco.proposals.generation import list_image_keys
from mmsoco.registry import DATASETS
from mmsoco.utils.image_files import (image_key, key_in_form,
                                      list_image_folder, read_image_list)

#: Hand-written expectation for the tree of ``awkward_tree``.
EXPECTED = sorted([
    'a/1.jpg', 'a/2.GIF', 'a/3.png', 'b.gif', 'linked_dir/x.png',
    'linked_file.png', 'real/x.png'
])


@pytest.fixture
def awkward_tree(tmp_path):
    """gif (upper/lower case), a linked folder, a linked file, a dangling
    link, a link cycle and a non-image file."""
    root = tmp_path / 'root'
    for rel in ('a/1.jpg', 'a/3.png', 'real/x.png'):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), np.zeros((8, 8, 3), np.uint8))
    for rel in ('a/2.GIF', 'b.gif'):
        from PIL import Image
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / rel, 'GIF')
    (root / 'a' / 'notes.txt').write_text('not an image')
    os.symlink(root / 'real', root / 'linked_dir')
    os.symlink(root / 'a' / '3.png', root / 'linked_file.png')
    os.symlink(root / 'gone.png', root / 'dangling.png')
    os.symlink(root, root / 'real' / 'loop')  # a cycle back to the root
    return root


def test_lister_on_the_awkward_cases(awkward_tree):
    assert list_image_folder(str(awkward_tree)) == EXPECTED


def test_dataset_and_generation_get_the_same_keys(awkward_tree):
    init_default_scope('mmsoco')
    dataset = DATASETS.build(
        dict(
            type='SoCoImageDataset', data_root=str(awkward_tree), pipeline=[]))
    keys = [dataset.get_data_info(i)['img_key'] for i in range(len(dataset))]
    assert keys == EXPECTED
    assert list_image_keys(str(awkward_tree)) == EXPECTED


def test_both_readers_of_a_list_file_normalise_alike(tmp_path):
    root = tmp_path / 'train'
    root.mkdir()
    listing = tmp_path / 'train.txt'
    listing.write_text('./n2/b.JPEG 1\n\n# comment\nn1/a.JPEG 0\n'
                       f'n3{os.sep}c.png\n')
    expected = ['n2/b.JPEG', 'n1/a.JPEG', 'n3/c.png']
    assert read_image_list(str(listing)) == expected
    init_default_scope('mmsoco')
    dataset = DATASETS.build(
        dict(
            type='SoCoImageDataset',
            data_root=str(tmp_path),
            ann_file='train.txt',
            data_prefix=dict(img_path='train'),
            pipeline=[]))
    assert [dataset.get_data_info(i)['img_key']
            for i in range(len(dataset))] == expected
    assert list_image_keys(str(root), str(listing)) == sorted(expected)
    coco = tmp_path / 'c.json'
    coco.write_text(
        json.dumps(dict(images=[dict(id=1, file_name='./x/y.jpg')])))
    assert read_image_list(str(coco)) == ['x/y.jpg']


def test_image_key_refuses_an_image_outside_the_root(tmp_path):
    assert image_key(str(tmp_path / 'r' / 'a' / 'b.jpg'),
                     str(tmp_path / 'r')) == 'a/b.jpg'
    with pytest.raises(ValueError, match='not under the image root'):
        image_key(str(tmp_path / 'other' / 'b.jpg'), str(tmp_path / 'r'))


def test_readme_lists_every_extension_the_scan_takes():
    """README's layout table names the extensions of a folder scan: all of
    them (``.gif`` was read but not listed), and no other."""
    import os.path as osp
    import re

    from mmsoco.utils.image_files import IMAGE_EXTENSIONS
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    with open(osp.join(repo, 'README.md')) as f:
        row = next(
            line for line in f if line.startswith('| image folder tree'))
    listed = re.search(r'ending in `([^`]*)`', row).group(1).split()
    assert sorted(listed) == sorted(IMAGE_EXTENSIONS)


@pytest.mark.parametrize(
    'form, prefix, expected',
    [
        ('relpath', '', 'n01/x_1.v2.JPEG'),
        ('relpath', 'train/', 'train/n01/x_1.v2.JPEG'),
        ('basename', '', 'x_1.v2.JPEG'),
        ('stem', '', 'x_1.v2'),  # the last extension only (splitext)
    ])
def test_key_forms(form, prefix, expected):
    assert key_in_form('n01/x_1.v2.JPEG', form, prefix) == expected


def test_unknown_key_form_is_refused():
    with pytest.raises(ValueError, match=r"one of \('relpath'"):
        key_in_form('a.jpg', 'extension')

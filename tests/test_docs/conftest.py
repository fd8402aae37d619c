"""A checkout whose data/ is laid out as the configs expect, from the demo
data, so the documented commands build their datasets as written."""
import json
import os

import numpy as np
import pytest
from test_docs.command_checks import REPO

# COCO's first category names: the demo's 6 categories renamed, so the COCO
# recipes (80 classes) keep the demo annotations.
COCO_NAMES = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus')


def _link(link, target):
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _coco_json(src, dst):
    data = json.loads(src.read_text())
    for category, name in zip(data['categories'], COCO_NAMES):
        category['name'] = name
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(data))


def _proposal_store(path, images, keys, prefixes=('', )):
    """Four boxes per image, inside SoCo's filter range (0.3-0.8 of each
    side), the shape of what tools/generate_proposals.py writes; each image
    under every key prefix."""
    from PIL import Image

    from mmsoco.proposals.store_writer import write_store
    items = []
    for prefix in prefixes:
        for key in keys:
            w, h = Image.open(images / key).size
            boxes = np.array([[0, 0, w // 2, h // 2], [w // 4, h // 4, w, h],
                              [w // 5, 0, 4 * w // 5, 3 * h // 5],
                              [0, h // 3, 2 * w // 3, h]])
            items.append((prefix + key, boxes, (w, h)))
    write_store(str(path), sorted(items, key=lambda item: item[0]))


@pytest.fixture(scope='session')
def docs_checkout(tmp_path_factory, demo_data_root):
    """configs/ of this repository and a data/ folder:

    - ``data/demo``: the demo data (its proposal cache stays in this folder);
    - ``data/imagenet/{train/,meta/train.txt}``: the demo images as an image
      folder and a list file, ``data/proposals/imagenet_train/store`` a
      proposal store for them;
    - ``data/coco/{train2017,val2017}/``, ``annotations/instances_*2017.json``
      : the demo's COCO files, categories named as COCO's;
      ``unlabeled2017/`` and ``image_info_unlabeled2017.json`` the val
      images without annotations.
    """
    root = tmp_path_factory.mktemp('docs_checkout')
    _link(root / 'configs', os.path.join(REPO, 'configs'))
    data = root / 'data'
    images = demo_data_root / 'images'
    annotations = demo_data_root / 'annotations'
    _link(data / 'demo' / 'images', images)
    _link(data / 'demo' / 'annotations', annotations)
    _link(data / 'imagenet' / 'train', images)
    list_file = (annotations / 'train_images.txt').read_text()
    (data / 'imagenet' / 'meta').mkdir(parents=True)
    (data / 'imagenet' / 'meta' / 'train.txt').write_text(list_file)
    keys = sorted(
        p.relative_to(images).as_posix() for p in images.rglob('*.jpg'))
    _proposal_store(data / 'proposals' / 'imagenet_train' / 'store', images,
                    keys)
    for split in ('train', 'val'):
        _link(data / 'coco' / f'{split}2017', images)
        _coco_json(
            annotations / f'instances_{split}.json',
            data / 'coco' / 'annotations' / f'instances_{split}2017.json')
    # unlabeled2017 and the store of train2017 + unlabeled2017 (the COCO
    # pretraining recipes): images without annotations, keys under data/coco/
    _proposal_store(
        data / 'proposals' / 'coco_train_unlabeled' / 'store',
        images,
        keys,
        prefixes=('train2017/', 'unlabeled2017/'))
    _link(data / 'coco' / 'unlabeled2017', images)
    unlabeled = json.loads((annotations / 'instances_val.json').read_text())
    unlabeled['annotations'] = []
    (data / 'coco' / 'annotations' /
     'image_info_unlabeled2017.json').write_text(json.dumps(unlabeled))
    # The files the placeholders name (readme_commands.PLACEHOLDERS).
    guard = root / 'work_dirs' / 'guard'
    guard.mkdir(parents=True)
    (guard / 'epoch_1.pth').write_bytes(b'')
    return root


@pytest.fixture
def in_docs_checkout(docs_checkout, monkeypatch):
    monkeypatch.chdir(docs_checkout)
    return docs_checkout

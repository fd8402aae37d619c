"""One key per image: overriding ``data_root`` with ``--cfg-options`` keeps
every proposal lookup working (no path is computed when the config is read)."""
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsoco.proposals.store_writer import write_store
from mmsoco.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_overridden_data_root_finds_its_proposals(tmp_path):
    init_default_scope('mmsoco')
    root = tmp_path / 'mnt' / 'imagenet'
    boxes = {}
    for i, rel in enumerate(['n01/a.JPEG', 'n02/b.JPEG']):
        path = root / 'train' / rel
        path.parent.mkdir(parents=True)
        cv2.imwrite(
            str(path), np.full((40, 60, 3), 50 * i, np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, 95])
        boxes[rel] = np.array([[i, 2, 30 + i, 20]], np.float32)
    store = str(tmp_path / 'store')
    # Keys as tools/generate_proposals.py writes them over <root>/train.
    write_store(store, [(k, b, (60, 40)) for k, b in boxes.items()])

    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets',
                 'soco_fpn_imagenet.py'))
    # The recipes' two path keys (README.md, 'Preparing data').
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(root) + '/',
        'train_dataloader.dataset.proposal_store': store,
    })
    dataset_cfg = cfg.train_dataloader.dataset
    # Loading + proposals: the steps the key concerns.
    dataset_cfg.pipeline = dataset_cfg.pipeline[:2]
    assert dataset_cfg.pipeline[1].type == 'SelectiveSearchProposals'
    dataset = DATASETS.build(dataset_cfg)  # checks every key at start
    assert len(dataset) == 2
    for i, rel in enumerate(['n01/a.JPEG', 'n02/b.JPEG']):
        out = dataset[i]
        assert out['img_key'] == rel
        np.testing.assert_array_equal(out['proposals'], boxes[rel])

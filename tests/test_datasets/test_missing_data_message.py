"""A paper recipe pointed at a dataset that is not there says where to read up.

Kept apart from test_soco_image_dataset.py: it builds the dataset of a real
recipe config, as tools/train.py would, from a directory without data/.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from mmsoco.registry import DATASETS
from mmsoco.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_recipe_without_its_images_names_the_folder_and_the_readme(
        tmp_path, monkeypatch):
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'soco', 'soco_r50fpn_400e.py'))
    monkeypatch.chdir(tmp_path)  # data/imagenet/ is relative: not here
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(cfg.train_dataloader.dataset)
    message = str(err.value)
    assert message.startswith('image folder not found: data/imagenet/train/')
    assert "README.md, section 'Preparing data'" in message
    assert 'proposal store' in message

"""What the tests of SoCoImageDataset's start-up checks share: images, a
store's box, and the dataset over them."""
import cv2
import numpy as np

from mmsoco.registry import DATASETS

BOX = np.array([[0, 0, 8, 8]], np.float32)
PIL_LOAD = dict(type='LoadImageWithPIL')
PROPOSALS = dict(type='SelectiveSearchProposals')


def write_images(folder, names, size=(12, 16)):
    """Flat-coloured PNGs of ``size`` (H, W) under ``folder``."""
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((*size, 3), i * 10, np.uint8))


def build_dataset(img_root, store, load=PIL_LOAD, **kwargs):
    return DATASETS.build(
        dict(
            type='SoCoImageDataset',
            data_prefix=dict(img_path=str(img_root)),
            proposal_store=store,
            pipeline=[load, PROPOSALS],
            **kwargs))

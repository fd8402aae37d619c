"""Shared pytest fixtures."""
import pytest


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory):
    """Root of a small demo dataset made once per test session (~1-2 s).

    24 images (19 train, 5 val), seed 0, 320-512 px, COCO annotations at
    ``annotations/instances_{train,val}.json`` with ``data_prefix=dict(
    img='images/')``, unlabeled list at ``annotations/train_images.txt``;
    see :mod:`mmsoco.datasets.demo`. Treat it as read-only: other tests share
    it.
    """
    from mmsoco.datasets.demo import make_demo_dataset
    root = tmp_path_factory.mktemp('demo_data') / 'demo'
    make_demo_dataset(root, num_images=24, seed=0)
    return root

"""The cached demo dataset (mmsoco.datasets.demo_cache): reused while its
manifest matches the request, regenerated otherwise, arguments checked first.

Expectations read the manifest and the files back. Generation itself is
tested in test_demo.py; both files take their small settings (``TINY``) and
byte snapshots from demo_files.py.
"""
import json

import pytest

from mmsoco.datasets import demo, demo_cache
from mmsoco.datasets.demo import MANIFEST_NAME
from mmsoco.datasets.demo_cache import ensure_demo_dataset
from demo_files import TINY, tree_bytes


def test_ensure_reuses_matching_and_regenerates_otherwise(
        tmp_path, monkeypatch):
    root = tmp_path / 'cache'
    monkeypatch.setenv(demo_cache.ENV_DEMO_DIR, str(root))
    assert ensure_demo_dataset(None, num_images=3, seed=0, **TINY) == root
    first = tree_bytes(root)

    def must_not_run(*args, **kwargs):
        raise AssertionError('regenerated a matching dataset')

    monkeypatch.setattr(demo_cache, 'make_demo_dataset', must_not_run)
    assert ensure_demo_dataset(None, num_images=3, seed=0, **TINY) == root
    monkeypatch.undo()

    # Another seed, another size, or an older generator version: regenerate.
    ensure_demo_dataset(root, num_images=3, seed=1, **TINY)
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest['params']['seed'] == 1
    assert tree_bytes(root) != first
    ensure_demo_dataset(root, num_images=4, seed=1, **TINY)
    assert json.loads(
        (root / MANIFEST_NAME).read_text())['params']['num_images'] == 4
    ensure_demo_dataset(root, num_images=4, seed=1, jpeg_quality=80, **TINY)
    assert json.loads(
        (root / MANIFEST_NAME).read_text())['params']['jpeg_quality'] == 80
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest['version'] = demo.DEMO_VERSION - 1
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))
    ensure_demo_dataset(root, num_images=4, seed=1, jpeg_quality=80, **TINY)
    assert json.loads(
        (root / MANIFEST_NAME).read_text())['version'] == demo.DEMO_VERSION


def test_ensure_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match='num_imgs'):
        ensure_demo_dataset(tmp_path / 'd', num_imgs=3)
    with pytest.raises(ValueError, match='num_images'):
        ensure_demo_dataset(tmp_path / 'd', num_images=2.5, **TINY)
    assert not (tmp_path / 'd').exists()

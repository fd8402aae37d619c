"""The cached demo dataset: one copy for the demo, the configs and the tests.

``make demo``, the demo configs and the test suite all want the same demo
dataset (:mod:`mmsoco.datasets.demo`) and should not redraw it on every run:
drawing 300 images costs tens of seconds, and every caller would otherwise
have to know where the copy lives and whether it is still current. This
module keeps one copy at a known place (:func:`default_demo_dir`) and hands
it out, regenerating it only when its manifest no longer matches what is
asked for (another generator version or other generation arguments).

Generating is left to :func:`mmsoco.datasets.demo.make_demo_dataset`, which
builds atomically; so a copy that is reused is always a complete one.
"""
import inspect
import os
from pathlib import Path
from typing import Optional

from .demo import (DEMO_VERSION, PathLike, make_demo_dataset, manifest_params,
                   read_manifest, validate_args)

ENV_DEMO_DIR = 'MMSOCO_DEMO_DIR'

#: make_demo_dataset's generation arguments and their defaults.
_GENERATION_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(make_demo_dataset).parameters.items()
    if p.default is not inspect.Parameter.empty and name != 'progress'
}


def default_demo_dir() -> Path:
    """``$MMSOCO_DEMO_DIR``, else ``data/demo`` in the source checkout, else
    ``~/.cache/mmsoco/demo`` (an installed, non-editable package)."""
    env = os.environ.get(ENV_DEMO_DIR)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / 'setup.py').is_file() or (repo / 'setup.cfg').is_file():
        return repo / 'data' / 'demo'
    return Path.home() / '.cache' / 'mmsoco' / 'demo'


def manifest_matches(manifest: Optional[dict], params: dict) -> bool:
    """Whether a manifest records this generator version and these params."""
    if not manifest:
        return False
    return (manifest.get('version') == DEMO_VERSION
            and manifest.get('params') == params)


def ensure_demo_dataset(root: Optional[PathLike] = None,
                        num_images: int = 300,
                        seed: int = 0,
                        progress: Optional[bool] = None,
                        **kwargs) -> Path:
    """Return the demo dataset's root, generating it on first use.

    ``root`` defaults to :func:`default_demo_dir`. A dataset there whose
    manifest matches (generator version and every :func:`make_demo_dataset`
    argument: ``num_images``, ``seed``, ``kwargs``, the defaults for the
    rest) is reused; otherwise it is regenerated in place (atomically).
    """
    root = Path(root) if root is not None else default_demo_dir()
    unknown = set(kwargs) - set(_GENERATION_DEFAULTS)
    if unknown:
        raise TypeError(f'ensure_demo_dataset() got unknown arguments '
                        f'{sorted(unknown)}')
    args = {
        **_GENERATION_DEFAULTS,
        **kwargs, 'num_images': num_images,
        'seed': seed
    }
    validate_args(**args)
    params = manifest_params(**args)
    if manifest_matches(read_manifest(root), params):
        return root
    from mmengine.logging import print_log
    print_log(
        f'generating the demo dataset ({num_images} images, seed '
        f'{seed}) at {root}',
        logger='current')
    try:
        make_demo_dataset(
            root,
            num_images=num_images,
            seed=seed,
            progress=progress,
            **kwargs)
    except OSError:
        # Another process may have put the same dataset in place first.
        if not manifest_matches(read_manifest(root), params):
            raise
    return root

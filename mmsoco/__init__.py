"""mmsoco: SoCo object-level contrastive pretraining for MMDetection.

Importing the package installs the weights-only checkpoint allow-list
(:mod:`mmsoco.utils.checkpoint`), so ``--resume`` and ``load_from`` work on
torch >= 2.6 without turning full pickle loading back on. Components register
lazily through the registries' ``locations`` (:mod:`mmsoco.registry`).
"""
from .utils.checkpoint import install_checkpoint_allowlist
from .version import __version__, version_info

install_checkpoint_allowlist()

__all__ = ['__version__', 'version_info']

"""Safe checkpoint loading for torch >= 2.6 (README, "Checkpoints are loaded weights-only").

torch >= 2.6 unpickles with ``weights_only=True`` by default and refuses
mmengine checkpoints, which carry the message hub (``HistoryBuffer`` objects
holding numpy arrays). The wrong fix is to turn full pickle loading back on:
a checkpoint is a program and ``torch.load(..., weights_only=False)`` runs it.
Instead we allow-list exactly the globals an mmengine checkpoint contains and
keep weights-only loading:

- ``mmengine.logging.history_buffer.HistoryBuffer`` (the message hub's logs);
- numpy's array/scalar reconstruction (``ndarray``, ``dtype``, ``_reconstruct``,
  ``scalar``) under both numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``)
  paths;
- ``builtins.getattr``, which pickle uses for ``HistoryBuffer.min`` and friends
  (the buffer's statistics methods). It is NOT the real ``getattr``: the name
  is bound to :func:`_history_buffer_getattr`, which only returns registered
  statistics methods of ``HistoryBuffer`` and refuses anything else, so a
  crafted file cannot reach e.g. ``ndarray.tofile`` through it.

:func:`install_checkpoint_allowlist` runs when ``mmsoco`` is imported. It also
replaces mmengine's local-file checkpoint loader with one that loads with
``weights_only=True`` explicitly and turns a refusal into
:class:`UnsafeCheckpointError`, which names the file and the offending global.
"""
import os.path as osp
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint holds objects outside the weights-only allow-list."""


# HistoryBuffer's built-in statistics; custom ones join
# HistoryBuffer._statistics_methods when registered.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what mmengine pickles: HistoryBuffer methods."""
    allowed = name in _HISTORY_BUFFER_STATISTICS or \
        name in HistoryBuffer._statistics_methods
    if obj is HistoryBuffer and allowed and callable(
            HistoryBuffer.__dict__.get(name)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)!r}, '
        f'{name!r}) is not allowed in a weights-only checkpoint')


def _numpy_globals() -> list:
    """numpy reconstruction helpers, named as numpy 1 and numpy 2 pickle them."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    entries = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    # numpy 2 pickles dtypes of arrays as their dtype classes, e.g.
    # numpy.dtypes.Float64DType; allow the plain numeric ones.
    for dtype in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                  np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                  np.float64):
        entries.append(type(np.dtype(dtype)))
    return entries


def checkpoint_safe_globals() -> list:
    """Everything :func:`install_checkpoint_allowlist` allow-lists."""
    return [HistoryBuffer,
            (_history_buffer_getattr, 'builtins.getattr'),
            (_history_buffer_getattr, '__builtin__.getattr')] + \
        _numpy_globals()


def load_checkpoint_weights_only(filename: str, map_location=None) -> dict:
    """``torch.load`` with ``weights_only=True`` and an error naming the file.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UnsafeCheckpointError: the file needs a global that is not
            allow-listed (the file's code never runs).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = str(err)
        marker = 'WeightsUnpickler error:'
        if marker in detail:
            detail = detail.split(marker, 1)[1].strip().splitlines()[0]
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: it contains objects '
            f'outside the weights-only allow-list ({detail}). mmsoco loads '
            'checkpoints with torch.load(weights_only=True) so that a file '
            'cannot run code. If you trust this file, convert it once to '
            'plain tensors, or allow-list the class with '
            'torch.serialization.add_safe_globals([...]).') from None


def load_from_local_weights_only(filename: str, map_location=None) -> dict:
    """mmengine ``CheckpointLoader`` backend for local paths (weights only)."""
    return load_checkpoint_weights_only(filename, map_location)


_INSTALLED = False


def install_checkpoint_allowlist() -> None:
    """Allow-list mmengine's checkpoint globals and route local loading here.

    Idempotent; called on ``import mmsoco``.
    """
    global _INSTALLED
    if _INSTALLED:
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
    _INSTALLED = True

"""Reading SoCo checkpoints and writing converted weights (``docs/method.md`` section 5.1).

Every writer goes through :func:`mmsoco.utils.atomic_files.atomic_open`: the
file is written next to its destination under a temporary name, fsynced,
given the mode of any new file under the umask and moved into place, so an
interrupted conversion never leaves a file that looks complete.
"""
import importlib
import os.path as osp
import pickle
import zipfile
from typing import Any, Callable, Dict, Tuple, Type

import numpy as np
import torch

from mmsoco.utils.atomic_files import atomic_open
from mmsoco.utils.checkpoint import (UnsafeCheckpointError,
                                     load_checkpoint_weights_only)


class ConversionError(ValueError):
    """A checkpoint cannot be converted; the message names the file or key."""


def _looks_like_torch_file(filename: str) -> bool:
    """torch.save writes a zip archive (or, legacy, a protocol-2+ pickle)."""
    if zipfile.is_zipfile(filename):
        return True
    with open(filename, 'rb') as f:
        return f.read(1) == b'\x80'


def read_checkpoint_file(filename: str,
                         error: Type[ConversionError] = ConversionError
                         ) -> Any:
    """What a torch checkpoint file holds, read weights only (the file's
    code never runs).

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        error: ``ConversionError`` or the caller's subclass of it: the file
            is not a torch checkpoint (a detectron2 weight file is named as
            one), torch cannot read it, or it needs globals outside the
            weights-only allow-list.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    if not _looks_like_torch_file(filename):
        raise error(f'{filename} is not a readable torch checkpoint (neither '
                    'a torch.save zip archive nor a pickle)')
    if not zipfile.is_zipfile(filename):
        _refuse_detectron2_weights(filename, error)
    try:
        return load_checkpoint_weights_only(filename, map_location='cpu')
    except UnsafeCheckpointError as err:
        raise error(str(err)) from None
    except Exception as err:  # torch raises many types for non-checkpoints
        raise error(f'{filename} is not a readable torch checkpoint '
                    f'({type(err).__name__}: {err})') from None


def require_state_dict(checkpoint: Any, filename: str) -> dict:
    """``checkpoint`` (what ``filename`` holds) if it is an mmengine
    checkpoint: a dict with a ``state_dict``.

    Raises:
        ConversionError: it is not, naming what it holds.
    """
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        if isinstance(checkpoint, dict):
            found = sorted(map(str, checkpoint))[:8]
        else:
            found = type(checkpoint).__name__
        raise ConversionError(
            f'{filename} has no "state_dict" (found {found}); expected an '
            'mmengine checkpoint written by mmsoco training')
    return checkpoint


def load_checkpoint_dict(filename: str) -> dict:
    """Load a whole mmengine checkpoint (a dict with ``state_dict``), weights
    only (:func:`read_checkpoint_file`, :func:`require_state_dict`).

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        ConversionError: the file is not a torch checkpoint or holds no
            ``state_dict``.
    """
    return require_state_dict(read_checkpoint_file(filename), filename)


def _refuse_detectron2_weights(filename: str,
                               error: Type[ConversionError]) -> None:
    """Name a detectron2 weight file (a plain pickle of numpy arrays), which
    torch's weights-only loader only rejects with "Unsupported operand"."""
    from .inputs import detectron2_weight_keys
    try:
        keys = detectron2_weight_keys(load_detectron2_pickle(filename))
    except Exception:  # noqa: BLE001 - not such a file: torch.load decides
        return
    if keys:
        raise error(
            f'{filename} is a detectron2 weight file (a pickle of numpy '
            f'arrays: {", ".join(keys)}, ...), not a SoCo checkpoint: it is '
            'already in detectron2\'s format (MODEL.WEIGHTS). mmsoco reads '
            'torch checkpoints, such as the mmengine .pth that SoCo '
            'pretraining writes (work_dirs/<config>/epoch_N.pth).')


def load_state_dict(filename: str) -> Dict[str, torch.Tensor]:
    """Load the ``state_dict`` of an mmengine checkpoint, weights only.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        ConversionError: the file is not a torch checkpoint, holds no
            ``state_dict``, or its ``state_dict`` is not a dict of tensors.
    """
    return load_state_dict_and_meta(filename)[0]


def load_state_dict_and_meta(
        filename: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """:func:`load_state_dict` and the checkpoint's ``meta`` (``{}`` if
    none), from one read of the file."""
    checkpoint = load_checkpoint_dict(filename)
    meta = checkpoint.get('meta')
    state_dict = checkpoint['state_dict']
    if not isinstance(state_dict, dict):
        raise ConversionError(
            f'"state_dict" of {filename} is a {type(state_dict).__name__}, '
            'not a dict of tensors')
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f'{filename}: state_dict["{key}"] is a '
                                  f'{type(value).__name__}, not a tensor')
    return state_dict, meta if isinstance(meta, dict) else {}


def _write_atomic(filename: str, write: Callable[[Any], None]) -> None:
    with atomic_open(filename, 'wb') as f:
        write(f)


def save_checkpoint_atomic(checkpoint: dict, filename: str) -> None:
    """``torch.save`` plain tensors / dicts / strings, atomically."""
    _write_atomic(filename, lambda f: torch.save(checkpoint, f))


def save_pickle_atomic(obj: Any, filename: str) -> None:
    """``pickle.dump`` (detectron2's ``.pkl`` weight format), atomically."""
    # protocol 4: no out-of-band buffers, readable by any Python 3.8+.
    _write_atomic(filename, lambda f: pickle.dump(obj, f, protocol=4))


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, strings, numbers and numpy arrays; nothing else."""

    _ALLOWED = {
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', 'scalar'),
        # protocol-5 pickles of contiguous arrays
        ('numpy.core.numeric', '_frombuffer'),
        ('numpy._core.numeric', '_frombuffer'),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return getattr(importlib.import_module(module), name)
        if module == 'numpy.dtypes':
            # numpy 2 pickles an array's dtype as its class (Float32DType, ...)
            cls = getattr(importlib.import_module(module), name, None)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                return cls
        raise pickle.UnpicklingError(
            f'global {module}.{name} is not allowed in a detectron2 weight '
            'file')


def load_detectron2_pickle(filename: str) -> dict:
    """Load a detectron2 ``.pkl`` weight file without running code.

    detectron2 itself reads these files with plain ``pickle``; this loader only
    accepts the numpy globals such a file needs, so tests and users can inspect
    one safely.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with open(filename, 'rb') as f:
        return _NumpyOnlyUnpickler(f, encoding='latin1').load()

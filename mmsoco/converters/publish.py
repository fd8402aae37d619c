"""Publishing a trained checkpoint, as MMDetection's ``publish_model.py``.

A training checkpoint carries what only resuming needs (optimizer state, LR
schedulers, the message hub's logs). The published file keeps ``meta`` and
``state_dict`` (by default), loads with ``torch.load(weights_only=True)``
without mmsoco installed, and carries the first 8 hex digits of its own
sha256 in its name (``OUT-<sha8>.pth``), so a download can be checked.

The file is serialised in memory, hashed, and written once under its final
name through a temporary file in the same folder and a rename: an interrupted
run leaves no file that looks complete, and the hash is that of the bytes on
disk.
"""
import hashlib
import io
from typing import Optional, Sequence

import torch

from mmsoco.converters.io import ConversionError, load_checkpoint_dict
from mmsoco.utils.atomic_files import atomic_write_bytes

DEFAULT_SAVE_KEYS = ('meta', 'state_dict')


def published_name(out_file: str, sha256: str) -> str:
    """``work/soco.pth`` + digest -> ``work/soco-<sha8>.pth``."""
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha256[:8]}.pth'


def publish_checkpoint(in_file: str,
                       out_file: str,
                       save_keys: Optional[Sequence[str]] = None) -> str:
    """Write the published form of ``in_file``; return its final path.

    ``save_keys``: the top-level keys kept, each of which must be in the
    checkpoint; default :data:`DEFAULT_SAVE_KEYS`, of which ``meta`` may be
    absent.

    Raises:
        FileNotFoundError: ``in_file`` does not exist.
        ConversionError: ``in_file`` is not an mmengine checkpoint, lacks
            one of ``save_keys``, or the kept part would not load
            weights-only.
    """
    checkpoint = load_checkpoint_dict(in_file)
    if save_keys is None:
        save_keys = [key for key in DEFAULT_SAVE_KEYS if key in checkpoint]
    absent = [key for key in save_keys if key not in checkpoint]
    if absent:
        # A mistyped key would otherwise publish a file without it.
        raise ConversionError(
            f'{in_file} has no {", ".join(map(repr, absent))} (it has '
            f'{", ".join(map(repr, checkpoint))}); check --save-keys')
    kept = {key: checkpoint[key] for key in save_keys}
    buffer = io.BytesIO()
    torch.save(kept, buffer)
    data = buffer.getvalue()
    try:  # what a user without mmsoco's allow-list will do with it
        torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    except Exception as err:
        raise ConversionError(
            f'the kept keys {list(kept)} of {in_file} do not load '
            f'weights-only ({err}); drop them with --save-keys') from None
    final = published_name(out_file, hashlib.sha256(data).hexdigest())
    atomic_write_bytes(final, data)
    return final

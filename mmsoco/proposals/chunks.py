"""Chunk files of a generation shard (``docs/method.md`` section 1.2).

A shard is cut into chunks of ``chunk_size`` images; each chunk is written as
one ``.npz`` atomically (:func:`mmsoco.utils.atomic_files.atomic_open`), so a
chunk file either is complete or does not exist, and ``resume`` skips the
chunk files that load and hold the expected keys.
"""
import os.path as osp
import warnings
from typing import Dict, List, Sequence

import numpy as np

from mmsoco.utils.atomic_files import atomic_open


def chunk_path(shard_dir: str, chunk_index: int) -> str:
    return osp.join(shard_dir, f'chunk-{chunk_index:06d}.npz')


def save_chunk(path: str, records: Sequence[dict]) -> None:
    """Write a chunk's records atomically."""
    boxes = [
        r['boxes'] if r['boxes'] is not None else np.zeros((0, 4))
        for r in records
    ]
    arrays = dict(
        keys=np.array([r['key'] for r in records], dtype=str),
        counts=np.array([len(b) for b in boxes], np.int64),
        ok=np.array([r['boxes'] is not None for r in records], bool),
        boxes=(np.concatenate(boxes).astype(np.float32)
               if records else np.zeros((0, 4), np.float32)),
        sizes=np.array([r['size'] for r in records], np.int32).reshape(-1, 2),
        fallback=np.array([r['fallback'] for r in records], dtype=str),
        num_raw=np.array([r['num_raw'] for r in records], np.int64),
        error=np.array([r['error'] for r in records], dtype=str),
        notes=np.array(['; '.join(r['notes']) for r in records], dtype=str))
    with atomic_open(path, 'wb') as f:
        np.savez(f, **arrays)


CHUNK_FIELDS = ('keys', 'counts', 'ok', 'boxes', 'sizes', 'fallback',
                'num_raw', 'error', 'notes')


def load_chunk_arrays(path: str) -> Dict[str, np.ndarray]:
    """The arrays of a chunk file (raises on an unreadable or torn file)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in CHUNK_FIELDS}
    n = len(arrays['keys'])
    if any(len(arrays[k]) != n for k in CHUNK_FIELDS if k != 'boxes') or \
            int(arrays['counts'].sum()) != len(arrays['boxes']):
        raise ValueError(f'{path}: arrays do not add up')
    return arrays


def load_chunk(path: str) -> List[dict]:
    """Records (as :func:`process_image` returns them) of a chunk file."""
    z = load_chunk_arrays(path)
    offsets = np.concatenate([[0], np.cumsum(z['counts'])])
    return [
        dict(
            key=str(z['keys'][i]),
            boxes=(z['boxes'][offsets[i]:offsets[i +
                                                 1]] if z['ok'][i] else None),
            size=(int(z['sizes'][i, 0]), int(z['sizes'][i, 1])),
            fallback=str(z['fallback'][i]),
            num_raw=int(z['num_raw'][i]),
            error=str(z['error'][i]),
            notes=[n for n in str(z['notes'][i]).split('; ') if n])
        for i in range(len(z['keys']))
    ]


def finished_chunk(path: str, expected_keys: Sequence[str]) -> bool:
    """Whether ``path`` is a complete chunk holding exactly ``expected_keys``."""
    if not osp.isfile(path):
        return False
    try:
        keys = load_chunk_arrays(path)['keys']
    except Exception as err:  # noqa: BLE001 - unreadable: recompute it
        warnings.warn(f'chunk {path} cannot be read ({type(err).__name__}: '
                      f'{err}); computing it again')
        return False
    return keys.tolist() == list(expected_keys)


__all__ = [
    'CHUNK_FIELDS', 'chunk_path', 'save_chunk', 'load_chunk_arrays',
    'load_chunk', 'finished_chunk'
]

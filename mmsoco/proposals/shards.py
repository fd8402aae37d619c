"""Running one shard of offline proposal generation (``docs/method.md`` section 1.2).

Shard ``i`` of ``n`` takes ``keys[i::n]`` of the sorted key list, cut into
chunks (:mod:`mmsoco.proposals.chunks`), each image computed by
:func:`process_image` in a pool of worker processes. Bad images never stop the
run: an image that cannot be decoded, or whose computation raises, becomes a
failure record with its reason. A worker killed on an image (e.g. by the
out-of-memory killer) stops the run naming the image (finished chunks are
kept); ``resume`` then lists it as a failure (``crashed.tsv`` in the shard
folder) and goes on.
"""
import hashlib
import json
import os
import os.path as osp
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmsoco.utils.atomic_files import atomic_write_text
from mmsoco.utils.progress import progress_bar
from .chunks import chunk_path, finished_chunk, save_chunk
from .compute import proposals_of_image
from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from .shard_folder import (CRASHED_FILE, INFLIGHT_PREFIX, MANIFEST_FILE,
                           crashed_record, differing_fields, discard_shards,
                           read_crashed, read_manifest, record_crashes,
                           remove_scratch_files, shard_dir_name)
from .store_format import ProposalStoreError, invalid_box_reason

DEFAULT_CHUNK_SIZE = 500
FALLBACK_LEVELS = ('none', 'ratio', 'min_size', 'whole_image')


def shard_keys(keys: Sequence[str], shard_index: int,
               num_shards: int) -> List[str]:
    """Shard ``shard_index`` of ``num_shards``: every ``num_shards``-th key."""
    if not 0 <= shard_index < num_shards:
        raise ValueError(f'shard {shard_index}/{num_shards}: the index must '
                         f'be in [0, {num_shards})')
    return list(keys[shard_index::num_shards])


def split_chunks(keys: Sequence[str], chunk_size: int) -> List[List[str]]:
    """Consecutive chunks of at most ``chunk_size`` keys."""
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    return [
        list(keys[i:i + chunk_size]) for i in range(0, len(keys), chunk_size)
    ]


def keys_digest(keys: Sequence[str]) -> str:
    """SHA-1 of a key list: shards of different listings must not be merged."""
    h = hashlib.sha1()
    for k in keys:
        h.update(k.encode('utf-8') + b'\n')
    return h.hexdigest()


def process_image(img_root: str, key: str, params: dict) -> dict:
    """Proposals of one image as a record; never raises.

    The record has ``key``, ``boxes`` (float32 (N, 4) or None on failure),
    ``size`` (W, H; (-1, -1) when not decoded), ``fallback`` (a level of
    ``FALLBACK_LEVELS``, '' on failure), ``num_raw``, ``error`` ('' when it
    worked) and ``notes`` (decode conversions).
    """
    rec = dict(
        key=key,
        boxes=None,
        size=(-1, -1),
        fallback='',
        num_raw=0,
        error='',
        notes=[])
    try:
        img, rec['notes'] = decode_image(
            osp.join(img_root, key),
            params.get('max_pixels', DEFAULT_MAX_PIXELS),
            exif_orientation=params.get('exif_orientation', False))
    except ImageDecodeError as e:
        rec['error'] = str(e)
        return rec
    except Exception as e:  # noqa: BLE001 - any decoder bug is listed, not fatal
        rec['error'] = f'decode failed: {type(e).__name__}: {e}'
        return rec
    rec['size'] = (img.shape[1], img.shape[0])
    try:
        result = proposals_of_image(img, params)
    except Exception as e:  # noqa: BLE001
        rec['error'] = f'proposal computation failed: {type(e).__name__}: {e}'
        return rec
    boxes = np.asarray(result.boxes, np.float32).reshape(-1, 4)
    reason = invalid_box_reason(boxes, rec['size'])
    if reason is not None:
        rec['error'] = f'invalid proposals computed: {reason}'
        return rec
    rec['boxes'] = boxes
    rec['fallback'] = str(result.fallback_level)
    rec['num_raw'] = int(result.num_raw)
    return rec


_WORKER_STATE: Dict = {}


def _init_worker(img_root: str,
                 params: dict,
                 inflight_dir: Optional[str] = None) -> None:
    # One thread per process: the pool is the parallelism.
    try:
        import cv2
        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001
        pass
    _WORKER_STATE.update(
        img_root=img_root, params=params, inflight_dir=inflight_dir)


def _work(key: str) -> dict:
    # A worker notes the image it is on, so that if the kernel kills it
    # (e.g. out of memory) the parent can name the image.
    inflight_dir = _WORKER_STATE.get('inflight_dir')
    marker = None
    if inflight_dir is not None:
        marker = osp.join(inflight_dir, f'{INFLIGHT_PREFIX}{os.getpid()}')
        # A scratch marker, removed below: not an output, so it skips the
        # atomic writer's fsync (one per image).
        with open(marker, 'w') as f:
            f.write(key)
    rec = process_image(_WORKER_STATE['img_root'], key,
                        _WORKER_STATE['params'])
    if marker is not None:
        os.remove(marker)
    return rec


def _ordered_results(executor, keys: Sequence[str], window: int):
    """``_work`` of each key, in order, with at most ``window`` in flight."""
    from collections import deque
    queue = deque()
    it = iter(keys)
    for key in it:
        queue.append(executor.submit(_work, key))
        if len(queue) >= window:
            break
    while queue:
        future = queue.popleft()
        key = next(it, None)
        if key is not None:
            queue.append(executor.submit(_work, key))
        yield future.result()


def _warm_up(params: dict) -> None:
    """Run the search once on a small image (JIT / cache load)."""
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    try:
        proposals_of_image(img, params)
    except Exception:  # noqa: BLE001 - the real images will report it
        pass


def run_shard(img_root: str,
              out_dir: str,
              keys: Sequence[str],
              params: dict,
              shard_index: int = 0,
              num_shards: int = 1,
              workers: int = 1,
              chunk_size: int = DEFAULT_CHUNK_SIZE,
              resume: bool = False,
              progress: Optional[bool] = None,
              overwrite: bool = False) -> str:
    """Compute shard ``shard_index``/``num_shards`` of the sorted ``keys``.

    Writes ``manifest.json`` and chunk files into
    ``out_dir/shards/shard-I-of-N`` and returns that directory. Finished
    chunks are skipped with ``resume``; without it a shard directory that
    already holds chunks is an error (nothing is overwritten). A manifest
    that disagrees (other key list, parameters, sharding or chunk size) is
    an error too, unless ``overwrite``: then this shard's directory, and
    every shard directory of ``out_dir`` whose manifest says it could not be
    merged with this run (other key list, parameters or sharding), are
    deleted first; shards of this run done elsewhere are kept, and so are
    shard directories without a readable manifest (named in a warning).
    """
    if resume and overwrite:
        raise ValueError('--resume continues a run, --overwrite discards it: '
                         'choose one')
    keys = list(keys)
    # The decoding convention is part of the result: recorded, never implied.
    params = dict(params)
    params.setdefault('exif_orientation', False)
    my_keys = shard_keys(keys, shard_index, num_shards)
    chunks = split_chunks(my_keys, chunk_size)
    shard_dir = osp.join(out_dir, 'shards',
                         shard_dir_name(shard_index, num_shards))
    os.makedirs(shard_dir, exist_ok=True)
    manifest = dict(
        shard_index=shard_index,
        num_shards=num_shards,
        num_keys=len(keys),
        keys_sha1=keys_digest(keys),
        num_shard_keys=len(my_keys),
        chunk_size=chunk_size,
        num_chunks=len(chunks),
        params=params,
        img_root=osp.abspath(img_root))
    manifest_path = osp.join(shard_dir, MANIFEST_FILE)
    if overwrite:
        discard_shards(out_dir, shard_dir, manifest)
        os.makedirs(shard_dir, exist_ok=True)
    if osp.isfile(manifest_path):
        old = read_manifest(shard_dir)
        if old is None:
            raise ProposalStoreError(
                f'{manifest_path} cannot be read (damaged); --overwrite '
                f'starts this shard again')
        if isinstance(old.get('params'), dict):
            # Runs from before the convention was recorded applied EXIF.
            old['params'].setdefault('exif_orientation', True)
        diff = differing_fields(old, manifest,
                                [k for k in manifest if k != 'img_root'])
        if diff:
            raise ProposalStoreError(
                f'{shard_dir} was started with other settings '
                f'({", ".join(diff)} differ); use another OUT_DIR, the '
                f'same settings, or --overwrite to discard it')
        has_chunks = any(
            n.startswith('chunk-') and n.endswith('.npz')
            for n in os.listdir(shard_dir))
        if has_chunks and not resume:
            raise ProposalStoreError(
                f'{shard_dir} already holds finished chunks; pass --resume '
                f'to continue it, --overwrite to start it again, or use an '
                f'empty OUT_DIR')
    else:
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2))
    remove_scratch_files(shard_dir)

    pending = [
        i for i, ck in enumerate(chunks)
        if not finished_chunk(chunk_path(shard_dir, i), ck)
    ]
    done_images = len(my_keys) - sum(len(chunks[i]) for i in pending)
    desc = f'shard {shard_index}/{num_shards}'
    tasks = [k for i in pending for k in chunks[i]]
    crashed = read_crashed(shard_dir)
    to_compute = [k for k in tasks if k not in crashed]
    with progress_bar(
            total=len(my_keys),
            initial=done_images,
            desc=desc,
            unit='img',
            enabled=progress) as bar:
        if workers <= 1:
            _init_worker(img_root, params)
            results = map(_work, to_compute)
            executor = None
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            if to_compute and 'fork' in mp.get_all_start_methods():
                # Load the compiled search once here; forked workers inherit
                # it instead of each paying numba's cache load (seconds).
                _warm_up(params)
                ctx = mp.get_context('fork')
            else:
                ctx = mp.get_context()
            executor = ProcessPoolExecutor(
                workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(img_root, params, shard_dir))
            results = _ordered_results(executor, to_compute, 4 * workers)
        try:
            for i in pending:
                records = []
                for key in chunks[i]:
                    records.append(
                        crashed_record(key) if key in
                        crashed else next(results))
                    bar.update(1)
                save_chunk(chunk_path(shard_dir, i), records)
        except BrokenProcessPool:
            processes = dict(getattr(executor, '_processes', None) or {})
            executor.shutdown(wait=True, cancel_futures=True)
            culprits = record_crashes(shard_dir, {
                pid: p.exitcode
                for pid, p in processes.items()
            })
            raise ProposalStoreError(
                'a worker process died (killed for memory?) while processing '
                + (', '.join(map(repr, culprits)
                             ) if culprits else 'an unknown image') +
                f'; finished chunks are kept. Rerun with --resume: the '
                f'image(s) are in {osp.join(shard_dir, CRASHED_FILE)} and '
                f'will be listed as failures.') from None
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
    return shard_dir


__all__ = [
    'DEFAULT_CHUNK_SIZE', 'FALLBACK_LEVELS', 'shard_keys', 'split_chunks',
    'keys_digest', 'shard_dir_name', 'process_image', 'run_shard'
]

"""Offline proposal generation over a dataset (spec section 1), resumable and sharded.

SoCo computes selective-search boxes once per image before training. This is
the library behind ``tools/generate_proposals.py``:

* **Keys.** The images are the files under ``img_root`` (or those listed by an
  ann file), keyed by their relative path and sorted, so every machine sees
  the same list.
* **Shards.** Shard ``i`` of ``n`` takes ``keys[i::n]`` of the sorted list: one
  shard per machine, and merging the shards gives exactly the store of a
  single-process run (the store is written in sorted key order).
* **Chunks.** A shard is cut into chunks of ``chunk_size`` images; each chunk
  is written as one ``.npz`` through a temporary file and ``os.replace``, so a
  chunk file either is complete or does not exist. ``resume`` skips the chunk
  files that load and hold the expected keys.
* **Bad images never stop the run.** Each image is decoded by
  :func:`decode_image`; an image that cannot be decoded, or whose
  computation raises, is recorded as a failure with its reason and left out
  of the store (listed in ``failures.tsv``). Decodable images go through
  ``compute_proposals`` and its fallback chain. A worker process killed on
  an image (e.g. by the out-of-memory killer) stops the run naming the image
  (finished chunks are kept); ``resume`` then lists it as a failure and
  goes on (``crashed.tsv`` in the shard directory).
* **Summary.** Counts, boxes-per-image percentiles, fallbacks by level,
  decode conversions and failures with reasons (``summary.json``).

Output layout under ``out_dir``::

    shards/shard-00000-of-00004/   manifest.json, chunk-000000.npz, ...
    store/                         the merged ProposalStore
    summary.json, failures.tsv, fallbacks.tsv

Decoding (:func:`decode_image`) follows what training sees (mmcv's
``LoadImageFromFile`` with ``color`` flag): EXIF orientation applied,
grayscale / palette -> 3 channels, 16-bit -> 8-bit by dropping the low byte
(as OpenCV does), CMYK -> RGB, alpha dropped. An image of more than
``max_pixels`` pixels is refused from its header alone, before decoding
(a decompression-bomb guard); below that, ``max_side`` downscales the image
for selective search and the boxes are mapped back to original pixels.
"""
import hashlib
import json
import os
import os.path as osp
import signal
import sys
import tempfile
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .store import (ProposalStoreError, _atomic_write_text,
                    invalid_box_reason, normalize_key, public_mode,
                    read_key_list, write_store_arrays)

#: Images above this many pixels are refused (not decoded) by default.
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_CHUNK_SIZE = 500
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                    '.ppm', '.pgm', '.gif')
FALLBACK_LEVELS = ('none', 'ratio', 'min_size', 'whole_image')
PERCENTILES = (0, 5, 25, 50, 75, 95, 100)


class ImageDecodeError(Exception):
    """An image file cannot be used; the message is the reason listed."""


# --------------------------------------------------------------------------
# Keys and shards
# --------------------------------------------------------------------------
def list_image_keys(img_root: str, ann_file: Optional[str] = None) -> List[str]:
    """Sorted relative paths of the images to process.

    With ``ann_file`` (a list file or a COCO json, see
    :func:`mmsoco.proposals.store.read_key_list`) the listed images, otherwise
    every file under ``img_root`` with an image extension. Listed images that
    are missing on disk stay in the list: they are reported as failures.
    """
    if not osp.isdir(img_root):
        raise FileNotFoundError(f'image root {img_root} is not a directory')
    if ann_file is not None:
        keys = read_key_list(ann_file)
        dupes = len(keys) - len(set(keys))
        if dupes:
            raise ProposalStoreError(
                f'{ann_file} lists {dupes} image(s) more than once')
        return sorted(keys)
    keys = []
    for dirpath, dirnames, files in os.walk(img_root):
        dirnames.sort()
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                keys.append(
                    normalize_key(
                        osp.relpath(osp.join(dirpath, name), img_root)))
    return sorted(keys)


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
    return [list(keys[i:i + chunk_size])
            for i in range(0, len(keys), chunk_size)]


def keys_digest(keys: Sequence[str]) -> str:
    """SHA-1 of a key list: shards of different listings must not be merged."""
    h = hashlib.sha1()
    for k in keys:
        h.update(k.encode('utf-8') + b'\n')
    return h.hexdigest()


def shard_dir_name(shard_index: int, num_shards: int) -> str:
    return f'shard-{shard_index:05d}-of-{num_shards:05d}'


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------
def _to_rgb_uint8(img) -> Tuple[np.ndarray, List[str]]:
    """An oriented PIL image -> (H, W, 3) uint8 RGB and the conversions made."""
    mode = img.mode
    if mode.startswith('I;16') or mode in ('I', 'F'):
        arr = np.asarray(img)
        if mode == 'F':
            arr = np.clip(arr, 0, 255).astype(np.uint8)
            note = '32-bit float -> 8-bit (clipped)'
        else:
            # OpenCV's IMREAD_COLOR keeps the high byte of 16-bit samples.
            arr = (np.clip(arr.astype(np.int64), 0, 65535) >> 8).astype(
                np.uint8)
            note = '16-bit -> 8-bit'
        return np.repeat(arr[:, :, None], 3, axis=2), [note, 'grayscale -> RGB']
    notes = []
    if mode in ('L', '1', 'LA'):
        notes.append('grayscale -> RGB')
    elif mode in ('P', 'PA'):
        notes.append('palette -> RGB')
    elif mode == 'CMYK':
        notes.append('CMYK -> RGB')
    elif mode in ('RGBA', 'RGBa'):
        notes.append('alpha dropped')
    elif mode != 'RGB':
        notes.append(f'{mode} -> RGB')
    if mode != 'RGB':
        img = img.convert('RGB')
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)), notes


def decode_image(path: str, max_pixels: int = DEFAULT_MAX_PIXELS
                 ) -> Tuple[np.ndarray, List[str]]:
    """Decode ``path`` to (H, W, 3) uint8 RGB; raise ImageDecodeError with a reason.

    Returns the image and the list of conversions applied (e.g.
    ``['CMYK -> RGB']``). Truncated data is an error, never a silently
    half-grey image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not osp.isfile(path):
        raise ImageDecodeError('file not found')
    if osp.getsize(path) == 0:
        raise ImageDecodeError('empty file (0 bytes)')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ImageDecodeError(f'too large: {e}') from None
    except UnidentifiedImageError:
        raise ImageDecodeError(
            'not a decodable image (unknown format or corrupt header)'
        ) from None
    except OSError as e:
        raise ImageDecodeError(f'unreadable: {e}') from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise ImageDecodeError(
                f'too large: {w}x{h} = {w * h} pixels > max_pixels '
                f'{max_pixels} (raise --max-pixels and set --max-side to '
                f'process it downscaled)')
        if w < 1 or h < 1:
            raise ImageDecodeError(f'empty image ({w}x{h})')
        try:
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            oriented = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageDecodeError(
                f'truncated or corrupt image data: {e}') from None
        notes = ['EXIF orientation applied'] if orientation not in (1, None) \
            else []
        rgb, conv = _to_rgb_uint8(oriented)
    return rgb, notes + conv


# --------------------------------------------------------------------------
# One image
# --------------------------------------------------------------------------
def _compute_proposals():
    # Imported lazily: workers pay for the compiled selective search only
    # when they compute.
    from .compute import compute_proposals
    return compute_proposals


#: Selective search needs at least this many pixels per side.
MIN_SEARCH_SIDE = 2


def proposals_of_image(img_rgb: np.ndarray, params: dict):
    """``compute_proposals`` of an RGB image, with the whole-image fallback
    for images too small to search (e.g. 1x1).

    ``params`` are ``compute_proposals`` keyword arguments (``max_pixels`` is
    ignored). Returns its ``ProposalResult``.
    """
    kwargs = {k: v for k, v in params.items() if k != 'max_pixels'}
    height, width = img_rgb.shape[:2]
    if min(height, width) < MIN_SEARCH_SIDE and kwargs.get('fallback', True):
        from mmsoco.structures.boxes import whole_box
        from .compute import ProposalResult
        return ProposalResult(whole_box(width, height), 'whole_image', 0)
    return _compute_proposals()(img_rgb, **kwargs)


def process_image(img_root: str, key: str, params: dict) -> dict:
    """Proposals of one image as a record; never raises.

    The record has ``key``, ``boxes`` (float32 (N, 4) or None on failure),
    ``size`` (W, H; (-1, -1) when not decoded), ``fallback`` (a level of
    ``FALLBACK_LEVELS``, '' on failure), ``num_raw``, ``error`` ('' when it
    worked) and ``notes`` (decode conversions).
    """
    rec = dict(key=key, boxes=None, size=(-1, -1), fallback='', num_raw=0,
               error='', notes=[])
    try:
        img, rec['notes'] = decode_image(
            osp.join(img_root, key), params.get('max_pixels',
                                                DEFAULT_MAX_PIXELS))
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


# --------------------------------------------------------------------------
# Chunks
# --------------------------------------------------------------------------
def chunk_path(shard_dir: str, chunk_index: int) -> str:
    return osp.join(shard_dir, f'chunk-{chunk_index:06d}.npz')


def save_chunk(path: str, records: Sequence[dict]) -> None:
    """Write a chunk's records atomically (temp file + rename)."""
    boxes = [r['boxes'] if r['boxes'] is not None else np.zeros((0, 4))
             for r in records]
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
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp', dir=osp.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        public_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
        dict(key=str(z['keys'][i]),
             boxes=(z['boxes'][offsets[i]:offsets[i + 1]]
                    if z['ok'][i] else None),
             size=(int(z['sizes'][i, 0]), int(z['sizes'][i, 1])),
             fallback=str(z['fallback'][i]), num_raw=int(z['num_raw'][i]),
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
    except Exception:  # noqa: BLE001 - unreadable: recompute it
        return False
    return keys.tolist() == list(expected_keys)


# --------------------------------------------------------------------------
# Running a shard
# --------------------------------------------------------------------------
_WORKER_STATE: Dict = {}
CRASHED_FILE = 'crashed.tsv'
CRASH_REASON = ('a worker process died on this image (out of memory or a '
                'crash in a decoder) in an earlier try')


def _init_worker(img_root: str, params: dict,
                 inflight_dir: Optional[str] = None) -> None:
    # One thread per process: the pool is the parallelism.
    try:
        import cv2
        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001
        pass
    _WORKER_STATE.update(img_root=img_root, params=params,
                         inflight_dir=inflight_dir)


def _work(key: str) -> dict:
    # A worker notes the image it is on, so that if the kernel kills it
    # (e.g. out of memory) the parent can name the image.
    inflight_dir = _WORKER_STATE.get('inflight_dir')
    marker = None
    if inflight_dir is not None:
        marker = osp.join(inflight_dir, f'.inflight-{os.getpid()}')
        with open(marker, 'w') as f:
            f.write(key)
    rec = process_image(_WORKER_STATE['img_root'], key,
                        _WORKER_STATE['params'])
    if marker is not None:
        os.remove(marker)
    return rec


def _crashed_record(key: str) -> dict:
    return dict(key=key, boxes=None, size=(-1, -1), fallback='', num_raw=0,
                error=CRASH_REASON, notes=[])


def _read_crashed(shard_dir: str) -> Dict[str, str]:
    path = osp.join(shard_dir, CRASHED_FILE)
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        return dict(line.rstrip('\n').split('\t', 1) for line in f
                    if '\t' in line)


def _record_crashes(shard_dir: str, exitcodes: Dict[int, int]) -> List[str]:
    """Keys that dead workers were on, appended to ``crashed.tsv``.

    ``exitcodes`` maps the pool's worker pids to their exit codes once the
    pool is down. When one worker dies the pool terminates the others
    (SIGTERM): only a worker that ended otherwise (e.g. SIGKILL from the
    out-of-memory killer) is the culprit; the others' images are retried.
    """
    keys = []
    for name in os.listdir(shard_dir):
        if not name.startswith('.inflight-'):
            continue
        path = osp.join(shard_dir, name)
        code = exitcodes.get(int(name.split('-', 1)[1]))
        if code is not None and code not in (0, -signal.SIGTERM):
            with open(path) as f:
                keys.append(f.read())
        os.remove(path)
    if keys:
        with open(osp.join(shard_dir, CRASHED_FILE), 'a') as f:
            f.writelines(f'{k}\tworker died\n' for k in keys)
    return sorted(keys)


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


def _progress(total: int, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit='img',
                disable=not enabled, dynamic_ncols=True, smoothing=0.05)


def run_shard(img_root: str,
              out_dir: str,
              keys: Sequence[str],
              params: dict,
              shard_index: int = 0,
              num_shards: int = 1,
              workers: int = 1,
              chunk_size: int = DEFAULT_CHUNK_SIZE,
              resume: bool = False,
              progress: bool = True) -> str:
    """Compute shard ``shard_index``/``num_shards`` of the sorted ``keys``.

    Writes ``manifest.json`` and chunk files into
    ``out_dir/shards/shard-I-of-N`` and returns that directory. Finished
    chunks are skipped with ``resume``; without it a shard directory that
    already holds chunks is an error (nothing is overwritten). A manifest
    that disagrees (other key list, parameters, sharding or chunk size) is
    always an error.
    """
    keys = list(keys)
    my_keys = shard_keys(keys, shard_index, num_shards)
    chunks = split_chunks(my_keys, chunk_size)
    shard_dir = osp.join(out_dir, 'shards',
                         shard_dir_name(shard_index, num_shards))
    os.makedirs(shard_dir, exist_ok=True)
    manifest = dict(shard_index=shard_index, num_shards=num_shards,
                    num_keys=len(keys), keys_sha1=keys_digest(keys),
                    num_shard_keys=len(my_keys), chunk_size=chunk_size,
                    num_chunks=len(chunks), params=params,
                    img_root=osp.abspath(img_root))
    manifest_path = osp.join(shard_dir, 'manifest.json')
    if osp.isfile(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
        diff = [k for k in manifest if k != 'img_root' and
                json.dumps(old.get(k), sort_keys=True) !=
                json.dumps(manifest[k], sort_keys=True)]
        if diff:
            raise ProposalStoreError(
                f'{shard_dir} was started with other settings '
                f'({", ".join(diff)} differ); use another OUT_DIR or the '
                f'same settings')
        has_chunks = any(
            n.startswith('chunk-') and n.endswith('.npz')
            for n in os.listdir(shard_dir))
        if has_chunks and not resume:
            raise ProposalStoreError(
                f'{shard_dir} already holds finished chunks; pass --resume '
                f'to continue it, or use an empty OUT_DIR')
    else:
        _atomic_write_text(manifest_path, json.dumps(manifest, indent=2))
    # Temp files of a killed run are never mistaken for chunks; drop them.
    for name in os.listdir(shard_dir):
        if name.startswith('.chunk-') and name.endswith('.tmp') or \
                name.startswith('.inflight-'):
            os.remove(osp.join(shard_dir, name))

    pending = [i for i, ck in enumerate(chunks)
               if not finished_chunk(chunk_path(shard_dir, i), ck)]
    done_images = len(my_keys) - sum(len(chunks[i]) for i in pending)
    desc = f'shard {shard_index}/{num_shards}'
    tasks = [k for i in pending for k in chunks[i]]
    crashed = _read_crashed(shard_dir)
    to_compute = [k for k in tasks if k not in crashed]
    with _progress(len(my_keys), done_images, desc, progress) as bar:
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
                workers, mp_context=ctx, initializer=_init_worker,
                initargs=(img_root, params, shard_dir))
            results = _ordered_results(executor, to_compute, 4 * workers)
        try:
            for i in pending:
                records = []
                for key in chunks[i]:
                    records.append(_crashed_record(key) if key in crashed
                                   else next(results))
                    bar.update(1)
                save_chunk(chunk_path(shard_dir, i), records)
        except BrokenProcessPool:
            processes = dict(getattr(executor, '_processes', None) or {})
            executor.shutdown(wait=True, cancel_futures=True)
            culprits = _record_crashes(
                shard_dir, {pid: p.exitcode for pid, p in processes.items()})
            raise ProposalStoreError(
                'a worker process died (killed for memory?) while processing '
                + (', '.join(map(repr, culprits)) if culprits else
                   'an unknown image') +
                f'; finished chunks are kept. Rerun with --resume: the '
                f'image(s) are in {osp.join(shard_dir, CRASHED_FILE)} and '
                f'will be listed as failures.') from None
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
    return shard_dir


# --------------------------------------------------------------------------
# Merging and the summary
# --------------------------------------------------------------------------
def _read_manifests(out_dir: str) -> List[Tuple[str, dict]]:
    shards_root = osp.join(out_dir, 'shards')
    if not osp.isdir(shards_root):
        raise ProposalStoreError(f'{out_dir} has no shards/ directory')
    found = []
    for name in sorted(os.listdir(shards_root)):
        path = osp.join(shards_root, name, 'manifest.json')
        if name.startswith('shard-') and osp.isfile(path):
            with open(path) as f:
                found.append((osp.join(shards_root, name), json.load(f)))
    if not found:
        raise ProposalStoreError(f'{shards_root} holds no shard manifests')
    return found


def collect_chunks(out_dir: str) -> Tuple[Dict[str, np.ndarray], dict]:
    """All chunk arrays of the complete shard set in ``out_dir``, concatenated.

    Returns the arrays (fields of :data:`CHUNK_FIELDS`, ``boxes`` in chunk
    order) and the first shard's manifest. Raises naming what is missing when
    a shard or chunk is not finished, or when the shards come from different
    key lists or parameters.
    """
    manifests = _read_manifests(out_dir)
    ref = manifests[0][1]
    agree = ('num_shards', 'num_keys', 'keys_sha1', 'params')
    for shard_dir, m in manifests[1:]:
        diff = [k for k in agree if json.dumps(m.get(k), sort_keys=True) !=
                json.dumps(ref.get(k), sort_keys=True)]
        if diff:
            raise ProposalStoreError(
                f'{shard_dir} does not belong with '
                f'{manifests[0][0]} ({", ".join(diff)} differ)')
    n = ref['num_shards']
    present = {m['shard_index'] for _, m in manifests}
    absent = sorted(set(range(n)) - present)
    if absent:
        raise ProposalStoreError(
            f'shard(s) {absent} of {n} are missing from {out_dir}/shards; '
            f'run them (--shard I/{n}) or copy their directories in')
    parts, incomplete = [], []
    for shard_dir, m in manifests:
        for i in range(m['num_chunks']):
            path = chunk_path(shard_dir, i)
            try:
                parts.append(load_chunk_arrays(path))
            except Exception:  # noqa: BLE001
                incomplete.append(path)
    if incomplete:
        raise ProposalStoreError(
            f'{len(incomplete)} chunk(s) are not finished, e.g. '
            f'{incomplete[0]}; rerun that shard with --resume')
    arrays = {
        k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)
        for k in CHUNK_FIELDS
    }
    if len(arrays['keys']) != ref['num_keys'] or \
            len(np.unique(arrays['keys'])) != ref['num_keys']:
        raise ProposalStoreError(
            f'the shards in {out_dir} hold {len(arrays["keys"])} records '
            f'for {ref["num_keys"]} images')
    return arrays, ref


def stored_arrays(arrays: Dict[str, np.ndarray]):
    """(sorted keys, box offsets, boxes, sizes) of the images that worked."""
    ok = arrays['ok']
    counts = arrays['counts']
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    order = np.flatnonzero(ok)
    order = order[np.argsort(arrays['keys'][order], kind='stable')]
    lens = counts[order]
    offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    # Row r of the output comes from starts[image] + (r - offsets[image]).
    rows = np.repeat(starts[order] - offsets[:-1], lens) + \
        np.arange(offsets[-1])
    boxes = arrays['boxes'].reshape(-1, 4)[rows]
    return (arrays['keys'][order].tolist(), offsets, boxes,
            arrays['sizes'][order])


def summarize(arrays: Dict[str, np.ndarray]) -> dict:
    """Run summary: counts, boxes-per-image percentiles, fallbacks, failures."""
    ok = arrays['ok'].astype(bool)
    counts = arrays['counts'][ok]
    failures = sorted(zip(arrays['keys'][~ok].tolist(),
                          arrays['error'][~ok].tolist()))
    fallbacks = {lvl: 0 for lvl in FALLBACK_LEVELS}
    levels, level_counts = np.unique(arrays['fallback'][ok],
                                     return_counts=True)
    fallbacks.update(zip(levels.tolist(), level_counts.tolist()))
    conversions: Dict[str, int] = {}
    for notes in arrays['notes'][ok & (arrays['notes'] != '')].tolist():
        for note in notes.split('; '):
            conversions[note] = conversions.get(note, 0) + 1
    reasons: Dict[str, int] = {}
    for _, reason in failures:
        kind = reason.split(':')[0]
        reasons[kind] = reasons.get(kind, 0) + 1
    bpi = {}
    if len(counts):
        bpi = {f'p{p}': float(np.percentile(counts, p)) for p in PERCENTILES}
        bpi['mean'] = float(counts.mean())
    return dict(
        images=len(ok),
        stored=int(ok.sum()),
        failed=len(failures),
        boxes=int(counts.sum()),
        boxes_per_image=bpi,
        raw_boxes_per_image_mean=(float(arrays['num_raw'][ok].mean())
                                  if ok.any() else 0.0),
        fallbacks=fallbacks,
        conversions=conversions,
        failure_reasons=reasons,
        failures=[dict(key=k, reason=e) for k, e in failures])


def format_summary(summary: dict, max_failures: int = 20) -> str:
    """Human-readable closing summary of a run."""
    lines = [
        f'images: {summary["images"]}  stored: {summary["stored"]}  '
        f'failed: {summary["failed"]}  boxes: {summary["boxes"]}'
    ]
    bpi = summary['boxes_per_image']
    if bpi:
        lines.append('boxes per image: ' + '  '.join(
            f'{k} {v:.1f}' for k, v in bpi.items()))
    fb = {k: v for k, v in summary['fallbacks'].items() if k != 'none' and v}
    lines.append('fallbacks: ' + (', '.join(f'{k} {v}' for k, v in fb.items())
                                  if fb else 'none needed'))
    if summary['conversions']:
        lines.append('decoded with conversion: ' + ', '.join(
            f'{k} {v}' for k, v in summary['conversions'].items()))
    if summary['failed']:
        lines.append(f'failures ({summary["failed"]}, all in failures.tsv):')
        for f in summary['failures'][:max_failures]:
            lines.append(f'  {f["key"]}: {f["reason"]}')
        if summary['failed'] > max_failures:
            lines.append(f'  ... and {summary["failed"] - max_failures} more')
    return '\n'.join(lines)


def _write_tsv(path: str, header: Sequence[str],
               rows: Iterable[Sequence[str]]) -> None:
    def clean(v):
        return str(v).replace('\t', ' ').replace('\n', ' ')

    text = '\t'.join(header) + '\n' + ''.join(
        '\t'.join(clean(v) for v in row) + '\n' for row in rows)
    _atomic_write_text(path, text)


def merge_shards(out_dir: str, store_path: Optional[str] = None) -> dict:
    """Merge the finished shards of ``out_dir`` into one store; return the summary.

    The store (default ``out_dir/store``) holds every image that worked, in
    sorted key order, so it is the same whatever the sharding. Writes
    ``summary.json``, ``failures.tsv`` and ``fallbacks.tsv`` into ``out_dir``.
    """
    arrays, manifest = collect_chunks(out_dir)
    store_path = store_path or osp.join(out_dir, 'store')
    keys, offsets, boxes, sizes = stored_arrays(arrays)
    write_store_arrays(store_path, keys, offsets, boxes, sizes,
                       meta=dict(generator='mmsoco.proposals.generation',
                                 params=manifest['params'],
                                 img_root=manifest.get('img_root'),
                                 num_listed=manifest['num_keys'],
                                 keys_sha1=manifest['keys_sha1']),
                       overwrite=True)
    summary = summarize(arrays)
    summary['store'] = osp.abspath(store_path)
    _atomic_write_text(osp.join(out_dir, 'summary.json'),
                       json.dumps(summary, indent=2))
    _write_tsv(osp.join(out_dir, 'failures.tsv'), ('key', 'reason'),
               ((f['key'], f['reason']) for f in summary['failures']))
    ok = arrays['ok'] & (arrays['fallback'] != 'none')
    _write_tsv(osp.join(out_dir, 'fallbacks.tsv'), ('key', 'fallback'),
               sorted(zip(arrays['keys'][ok].tolist(),
                          arrays['fallback'][ok].tolist())))
    return summary


def generate(img_root: str,
             out_dir: str,
             ann_file: Optional[str] = None,
             params: Optional[dict] = None,
             shard: Tuple[int, int] = (0, 1),
             workers: int = 1,
             chunk_size: int = DEFAULT_CHUNK_SIZE,
             resume: bool = False,
             progress: bool = True) -> Optional[dict]:
    """List the images, run one shard and, for a single shard, merge.

    Returns the summary after a merge, or None for one shard of several
    (merge with :func:`merge_shards` once all shards are done).
    """
    keys = list_image_keys(img_root, ann_file)
    if not keys:
        raise ProposalStoreError(
            f'no images found under {img_root}' +
            (f' listed by {ann_file}' if ann_file else ''))
    start = time.time()
    run_shard(img_root, out_dir, keys, params or {}, shard[0], shard[1],
              workers, chunk_size, resume, progress)
    if shard[1] > 1:
        print(f'shard {shard[0]}/{shard[1]} finished in '
              f'{time.time() - start:.0f}s; merge with --merge {out_dir} '
              f'when all shards are done', file=sys.stderr)
        return None
    return merge_shards(out_dir)

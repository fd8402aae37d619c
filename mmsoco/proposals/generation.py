"""Offline proposal generation over a dataset (``docs/method.md`` section 1.2): the entry point.

SoCo computes selective-search boxes once per image before training. This is
the library behind ``tools/generate_proposals.py``:

* **Keys.** The images are the files under ``img_root`` (or those listed by an
  ann file), keyed by their relative path and sorted, so every machine sees
  the same list.
* **Shards.** Shard ``i`` of ``n`` takes ``keys[i::n]`` of the sorted list: one
  shard per machine, and merging the shards gives exactly the store of a
  single-process run (the store is written in sorted key order).
* **Chunks.** A shard is cut into chunks of ``chunk_size`` images; each chunk
  is written as one ``.npz`` atomically, so a chunk file either is complete
  or does not exist. ``resume`` skips the chunk
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

The jobs live in their own modules: listing (:mod:`mmsoco.utils.image_files`),
decoding (:mod:`.decode`), one shard (:mod:`.shards`), chunk files
(:mod:`.chunks`), merging and the summary (:mod:`.merge`). This module lists
the images and runs them; it re-exports the names ``tools/generate_proposals.py``
uses.
"""
import os.path as osp
import sys
import time
from typing import List, Optional, Tuple

from mmsoco.utils.image_files import list_image_folder, read_image_list
from .decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image
from .merge import format_summary, merge_shards
from .shards import DEFAULT_CHUNK_SIZE, run_shard, shard_keys
from .store_format import ProposalStoreError


def list_image_keys(img_root: str,
                    ann_file: Optional[str] = None) -> List[str]:
    """Sorted keys of the images to process.

    With ``ann_file`` (a list file or a COCO json,
    :func:`mmsoco.utils.image_files.read_image_list`) the listed images,
    otherwise every image under ``img_root``
    (:func:`mmsoco.utils.image_files.list_image_folder`): the same keys
    ``SoCoImageDataset`` gives its images. Listed images that are missing on
    disk stay in the list: they are reported as failures.
    """
    if not osp.isdir(img_root):
        raise FileNotFoundError(f'image root {img_root} is not a directory')
    if ann_file is None:
        return list_image_folder(img_root)
    keys = read_image_list(ann_file)
    dupes = len(keys) - len(set(keys))
    if dupes:
        raise ProposalStoreError(
            f'{ann_file} lists {dupes} image(s) more than once')
    return sorted(keys)


def generate(img_root: str,
             out_dir: str,
             ann_file: Optional[str] = None,
             params: Optional[dict] = None,
             shard: Tuple[int, int] = (0, 1),
             workers: int = 1,
             chunk_size: int = DEFAULT_CHUNK_SIZE,
             resume: bool = False,
             progress: Optional[bool] = None,
             overwrite: bool = False) -> Optional[dict]:
    """List the images, run one shard and, for a single shard, merge.

    Returns the summary after a merge, or None for one shard of several
    (merge with :func:`merge_shards` once all shards are done). ``resume``
    and ``overwrite``: see :func:`run_shard`.
    """
    keys = list_image_keys(img_root, ann_file)
    if not keys:
        raise ProposalStoreError(f'no images found under {img_root}' + (
            f' listed by {ann_file}' if ann_file else ''))
    start = time.time()
    run_shard(img_root, out_dir, keys, params or {}, shard[0], shard[1],
              workers, chunk_size, resume, progress, overwrite)
    if shard[1] > 1:
        print(
            f'shard {shard[0]}/{shard[1]} finished in '
            f'{time.time() - start:.0f}s; merge with --merge {out_dir} '
            f'when all shards are done',
            file=sys.stderr)
        return None
    return merge_shards(out_dir, progress=progress)


__all__ = [
    'DEFAULT_CHUNK_SIZE', 'DEFAULT_MAX_PIXELS', 'ImageDecodeError',
    'decode_image', 'format_summary', 'generate', 'list_image_keys',
    'merge_shards', 'run_shard', 'shard_keys'
]

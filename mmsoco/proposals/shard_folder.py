"""The files of a shard folder (``out_dir/shards/shard-I-of-N``) besides its
chunks: the manifest that says which run the shard belongs to, and the record
of images a worker died on (``crashed.tsv``).

:mod:`mmsoco.proposals.shards` writes them while running a shard,
:mod:`mmsoco.proposals.merge` reads the manifests to check that shards belong
together; both compare manifests with :func:`differing_fields`.
"""
import json
import os
import os.path as osp
import shutil
import signal
import warnings
from typing import Dict, List, Optional, Sequence

from mmsoco.utils.atomic_files import atomic_write_tsv

MANIFEST_FILE = 'manifest.json'
CRASHED_FILE = 'crashed.tsv'
#: The failure reason of an image a worker died on in an earlier try.
CRASH_REASON = ('a worker process died on this image (out of memory or a '
                'crash in a decoder) in an earlier try')
#: Manifest fields that must agree for shards to be merged.
MERGE_FIELDS = ('num_shards', 'num_keys', 'keys_sha1', 'params')
#: Prefix of the scratch file a worker writes naming the image it is on.
INFLIGHT_PREFIX = '.inflight-'


def shard_dir_name(shard_index: int, num_shards: int) -> str:
    return f'shard-{shard_index:05d}-of-{num_shards:05d}'


def differing_fields(manifest: dict, other: dict,
                     fields: Sequence[str]) -> List[str]:
    """The ``fields`` whose values differ between two manifests (compared as
    JSON, so a tuple equals the list it was saved as)."""
    return [
        k for k in fields
        if json.dumps(manifest.get(k), sort_keys=True) != json.dumps(
            other.get(k), sort_keys=True)
    ]


def read_manifest(shard_dir: str) -> Optional[dict]:
    """A shard directory's manifest, or None when it cannot be read (not
    written yet, or damaged)."""
    try:
        with open(osp.join(shard_dir, MANIFEST_FILE)) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def shard_dirs(out_dir: str) -> List[str]:
    """The shard directories under ``out_dir/shards``, sorted."""
    shards_root = osp.join(out_dir, 'shards')
    if not osp.isdir(shards_root):
        return []
    return [
        osp.join(shards_root, name)
        for name in sorted(os.listdir(shards_root)) if
        name.startswith('shard-') and osp.isdir(osp.join(shards_root, name))
    ]


def discard_shards(out_dir: str, shard_dir: str, manifest: dict) -> None:
    """Delete ``shard_dir`` and the shard directories of ``out_dir`` whose
    manifest says they cannot be merged with a run of ``manifest``
    (``overwrite``).

    A shard directory without a readable manifest may be another machine's
    shard of this very run, created a moment ago (the manifest is written
    after the directory): it is left, with a warning naming it.
    """
    unread = []
    for path in shard_dirs(out_dir):
        if path == shard_dir:
            shutil.rmtree(path)
            continue
        other = read_manifest(path)
        if other is None:
            unread.append(path)
        elif differing_fields(other, manifest, MERGE_FIELDS):
            shutil.rmtree(path)
    if unread:
        warnings.warn(
            f'--overwrite left {len(unread)} shard folder(s) without a '
            f'readable manifest.json: {", ".join(unread)} (another machine\'s '
            'shard being started, or a damaged one): delete them yourself if '
            'no shard of this run is being written there.')


def remove_scratch_files(shard_dir: str) -> None:
    """Drop a killed run's temporary chunks and in-flight markers, so that
    they are never mistaken for results."""
    for name in os.listdir(shard_dir):
        if (name.startswith('.chunk-') and name.endswith('.tmp')
                or name.startswith(INFLIGHT_PREFIX)):
            os.remove(osp.join(shard_dir, name))


def crashed_record(key: str) -> dict:
    """The failure record of an image listed in ``crashed.tsv``."""
    return dict(
        key=key,
        boxes=None,
        size=(-1, -1),
        fallback='',
        num_raw=0,
        error=CRASH_REASON,
        notes=[])


def read_crashed(shard_dir: str) -> Dict[str, str]:
    """``crashed.tsv`` of a shard folder: key -> why."""
    path = osp.join(shard_dir, CRASHED_FILE)
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        return dict(
            line.rstrip('\n').split('\t', 1) for line in f if '\t' in line)


def record_crashes(shard_dir: str, exitcodes: Dict[int, int]) -> List[str]:
    """Keys that dead workers were on, appended to ``crashed.tsv``.

    ``exitcodes`` maps the pool's worker pids to their exit codes once the
    pool is down. When one worker dies the pool terminates the others
    (SIGTERM): only a worker that ended otherwise (e.g. SIGKILL from the
    out-of-memory killer) is the culprit; the others' images are retried.
    """
    keys = []
    for name in os.listdir(shard_dir):
        if not name.startswith(INFLIGHT_PREFIX):
            continue
        path = osp.join(shard_dir, name)
        code = exitcodes.get(int(name[len(INFLIGHT_PREFIX):]))
        if code is not None and code not in (0, -signal.SIGTERM):
            with open(path) as f:
                keys.append(f.read())
        os.remove(path)
    if keys:
        crashed = dict(
            read_crashed(shard_dir), **{k: 'worker died'
                                        for k in keys})
        atomic_write_tsv(
            osp.join(shard_dir, CRASHED_FILE), sorted(crashed.items()))
    return sorted(keys)

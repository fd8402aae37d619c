"""Merging finished shards into one proposal store, with the run's summary
(``docs/method.md`` section 1.2).

The store holds every image that worked, in sorted key order, so it is the
same whatever the sharding. Beside it: ``summary.json`` (counts,
boxes-per-image percentiles, fallbacks by level, decode conversions, failures
with reasons), ``failures.tsv`` and ``fallbacks.tsv``.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmsoco.utils.atomic_files import atomic_write_text, atomic_write_tsv
from mmsoco.utils.progress import track
from .chunks import CHUNK_FIELDS, chunk_path, load_chunk_arrays
from .shard_folder import (MANIFEST_FILE, MERGE_FIELDS, differing_fields,
                           read_manifest, shard_dirs)
from .shards import FALLBACK_LEVELS
from .store_format import ProposalStoreError
from .store_writer import write_store_arrays

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)


def _read_manifests(out_dir: str) -> List[Tuple[str, dict]]:
    if not osp.isdir(osp.join(out_dir, 'shards')):
        raise ProposalStoreError(f'{out_dir} has no shards/ directory')
    found = []
    for shard_dir in shard_dirs(out_dir):
        if not osp.isfile(osp.join(shard_dir, MANIFEST_FILE)):
            continue
        manifest = read_manifest(shard_dir)
        if manifest is None:
            raise ProposalStoreError(
                f'{osp.join(shard_dir, MANIFEST_FILE)} cannot be read '
                f'(damaged): run that shard again with --overwrite')
        found.append((shard_dir, manifest))
    if not found:
        raise ProposalStoreError(
            f'{osp.join(out_dir, "shards")} holds no shard manifests')
    return found


def collect_chunks(
        out_dir: str,
        progress: Optional[bool] = None) -> Tuple[Dict[str, np.ndarray], dict]:
    """All chunk arrays of the complete shard set in ``out_dir``, concatenated.

    Returns the arrays (fields of :data:`CHUNK_FIELDS`, ``boxes`` in chunk
    order) and the first shard's manifest. Raises naming what is missing when
    a shard or chunk is not finished, or when the shards come from different
    key lists or parameters.
    """
    manifests = _read_manifests(out_dir)
    first_dir, ref = manifests[0]
    for shard_dir, m in manifests[1:]:
        diff = differing_fields(m, ref, MERGE_FIELDS)
        if diff:
            raise ProposalStoreError(
                f'{shard_dir} does not belong with '
                f'{first_dir} ({", ".join(diff)} differ): shards of '
                f'an earlier run? Generate with --overwrite to discard the '
                f'shards of other settings, or use another OUT_DIR')
    n = ref['num_shards']
    present = {m['shard_index'] for _, m in manifests}
    absent = sorted(set(range(n)) - present)
    if absent:
        raise ProposalStoreError(
            f'shard(s) {absent} of {n} are missing from {out_dir}/shards; '
            f'run them (--shard I/{n}) or copy their directories in')
    parts, incomplete, unreadable = [], [], []
    paths = [
        chunk_path(shard_dir, i) for shard_dir, m in manifests
        for i in range(m['num_chunks'])
    ]
    for path in track(
            paths, desc=f'merging {out_dir}', unit='chunk', enabled=progress):
        try:
            parts.append(load_chunk_arrays(path))
        except FileNotFoundError:
            incomplete.append(path)
        except Exception as err:  # noqa: BLE001 - named below
            unreadable.append((path, f'{type(err).__name__}: {err}'))
    if unreadable:
        path, reason = unreadable[0]
        raise ProposalStoreError(
            f'{len(unreadable)} chunk(s) cannot be read, e.g. {path} '
            f'({reason}); a damaged chunk is computed again by rerunning '
            f'its shard with --resume')
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
    failures = sorted(
        zip(arrays['keys'][~ok].tolist(), arrays['error'][~ok].tolist()))
    fallbacks = {lvl: 0 for lvl in FALLBACK_LEVELS}
    levels, level_counts = np.unique(
        arrays['fallback'][ok], return_counts=True)
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
        lines.append('boxes per image: ' + '  '.join(f'{k} {v:.1f}'
                                                     for k, v in bpi.items()))
    fb = {k: v for k, v in summary['fallbacks'].items() if k != 'none' and v}
    lines.append('fallbacks: ' +
                 (', '.join(f'{k} {v}'
                            for k, v in fb.items()) if fb else 'none needed'))
    if summary['conversions']:
        lines.append('decoded with conversion: ' +
                     ', '.join(f'{k} {v}'
                               for k, v in summary['conversions'].items()))
    if summary['failed']:
        lines.append(f'failures ({summary["failed"]}, all in failures.tsv):')
        for f in summary['failures'][:max_failures]:
            lines.append(f'  {f["key"]}: {f["reason"]}')
        if summary['failed'] > max_failures:
            lines.append(f'  ... and {summary["failed"] - max_failures} more')
    return '\n'.join(lines)


def merge_shards(out_dir: str,
                 store_path: Optional[str] = None,
                 progress: Optional[bool] = None) -> dict:
    """Merge the finished shards of ``out_dir`` into one store; return the summary.

    The store (default ``out_dir/store``) holds every image that worked, in
    sorted key order, so it is the same whatever the sharding. Writes
    ``summary.json``, ``failures.tsv`` and ``fallbacks.tsv`` into ``out_dir``.
    """
    arrays, manifest = collect_chunks(out_dir, progress)
    store_path = store_path or osp.join(out_dir, 'store')
    keys, offsets, boxes, sizes = stored_arrays(arrays)
    write_store_arrays(
        store_path,
        keys,
        offsets,
        boxes,
        sizes,
        meta=dict(
            generator='mmsoco.proposals.generation',
            params=manifest['params'],
            img_root=manifest.get('img_root'),
            num_listed=manifest['num_keys'],
            keys_sha1=manifest['keys_sha1']),
        overwrite=True,
        # Shards of a run from before the convention was a parameter
        # decoded with the EXIF orientation applied.
        exif_orientation=manifest['params'].get('exif_orientation', True))
    summary = summarize(arrays)
    summary['store'] = osp.abspath(store_path)
    atomic_write_text(
        osp.join(out_dir, 'summary.json'), json.dumps(summary, indent=2))
    atomic_write_tsv(
        osp.join(out_dir, 'failures.tsv'),
        ((f['key'], f['reason']) for f in summary['failures']),
        header=('key', 'reason'))
    ok = arrays['ok'] & (arrays['fallback'] != 'none')
    atomic_write_tsv(
        osp.join(out_dir, 'fallbacks.tsv'),
        sorted(
            zip(arrays['keys'][ok].tolist(), arrays['fallback'][ok].tolist())),
        header=('key', 'fallback'))
    return summary


__all__ = [
    'collect_chunks', 'stored_arrays', 'summarize', 'format_summary',
    'merge_shards'
]

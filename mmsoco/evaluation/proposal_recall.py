"""Recall of SoCo's proposals against a detection dataset's boxes (``docs/method.md`` section 1.5).

How many annotated objects does selective search (after SoCo's filter) cover?
A ground-truth box counts as recalled at IoU ``t`` when some proposal of its
image overlaps it with IoU >= ``t`` (no one-to-one matching: this measures
coverage of the objects, as proposal papers report it). Objects are split by
COCO's area ranges: small < 32^2 <= medium < 96^2 <= large, using the
annotation's ``area`` (as COCO's evaluation does), or ``w * h`` without one.
Crowd annotations are ignored.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from mmsoco.structures.boxes import box_iou

#: COCO's object-size ranges (area in pixels).
AREA_RANGES = dict(
    small=(0, 32**2), medium=(32**2, 96**2), large=(96**2, float('inf')))
DEFAULT_IOU_THRS = (0.5, 0.7)


def coco_gt_boxes(coco: dict) -> Dict[int, tuple]:
    """``image_id -> ((G, 4) x1y1x2y2 boxes, (G,) areas)`` of non-crowd objects.

    COCO's ``bbox`` is ``[x, y, w, h]`` in continuous pixels, so ``x2 = x + w``
    (the same convention as the store's exclusive ``x2``).
    """
    per_image = {im['id']: ([], []) for im in coco['images']}
    for ann in coco.get('annotations', []):
        if ann.get('iscrowd', 0) or ann['image_id'] not in per_image:
            continue
        x, y, w, h = ann['bbox']
        if w <= 0 or h <= 0:
            continue
        boxes, areas = per_image[ann['image_id']]
        boxes.append((x, y, x + w, y + h))
        areas.append(ann.get('area', w * h))
    return {
        i: (np.asarray(b, np.float64).reshape(-1,
                                              4), np.asarray(a, np.float64))
        for i, (b, a) in per_image.items()
    }


def best_iou_per_gt(gt: np.ndarray, proposals: np.ndarray) -> np.ndarray:
    """(G,) highest IoU of each ground-truth box with any proposal (0 if none)."""
    if len(gt) == 0:
        return np.zeros(0)
    if len(proposals) == 0:
        return np.zeros(len(gt))
    return np.asarray(box_iou(gt, proposals)).max(axis=1)


def recall_by_size(best_ious: np.ndarray,
                   areas: np.ndarray,
                   iou_thrs: Sequence[float] = DEFAULT_IOU_THRS) -> dict:
    """Recall per COCO size range and overall from per-object best IoUs.

    A range without objects has recall None (``null`` in JSON, ``n/a`` in
    the table): no objects, no recall, and JSON has no NaN.
    """
    out = {}
    ranges = dict(all=(0, float('inf')), **AREA_RANGES)
    for name, (lo, hi) in ranges.items():
        sel = (areas >= lo) & (areas < hi)
        n = int(sel.sum())
        out[name] = dict(num_gt=n)
        for t in iou_thrs:
            out[name][f'recall@{t:g}'] = (
                float((best_ious[sel] >= t).mean()) if n else None)
    return out


def eval_proposal_recall(store,
                         coco_json: str,
                         img_prefix: str = '',
                         iou_thrs: Sequence[float] = DEFAULT_IOU_THRS,
                         allow_missing: bool = False,
                         progress: Optional[bool] = None) -> dict:
    """Recall of a :class:`~mmsoco.proposals.ProposalStore` on a COCO dataset.

    Args:
        store: the store, or its path.
        coco_json: COCO-format annotation file.
        img_prefix: prepended (with ``/``) to each ``file_name`` to form the
            store key, for stores keyed relative to a parent directory (a
            store keyed by file name or stem is looked up by those).
        iou_thrs: IoU thresholds.
        allow_missing: count images absent from the store as having no
            proposals instead of raising (which names them).
        progress: show a progress bar (default: on a terminal only).

    Returns:
        ``{'all' | 'small' | 'medium' | 'large': {'num_gt', 'recall@T', ...},
        'num_images', 'missing_images', 'proposals_per_image'}``.
    """
    from mmsoco.proposals.store import ProposalStore
    from mmsoco.utils.image_files import load_coco_json
    from mmsoco.utils.progress import track
    if isinstance(store, str):
        store = ProposalStore(store)
    coco = load_coco_json(coco_json, required=('images', 'annotations'))
    gts = coco_gt_boxes(coco)
    prefix = img_prefix.rstrip('/') + '/' if img_prefix else ''
    keys = {
        im['id']: store.key_for(im['file_name'], prefix)
        for im in coco['images']
    }
    if not allow_missing:
        store.check_keys(keys.values(), source=coco_json)
    ious, areas, counts, missing = [], [], [], 0
    for image_id, (gt, area) in track(
            gts.items(), desc='recall', unit='img', enabled=progress):
        index = store.index(keys[image_id])
        if index < 0:
            missing += 1
            proposals = np.zeros((0, 4))
        else:
            proposals = store.boxes_at(index)
        counts.append(len(proposals))
        ious.append(best_iou_per_gt(gt, proposals))
        areas.append(area)
    result = recall_by_size(
        np.concatenate(ious) if ious else np.zeros(0),
        np.concatenate(areas) if areas else np.zeros(0), iou_thrs)
    result.update(
        num_images=len(gts),
        missing_images=missing,
        proposals_per_image=float(np.mean(counts)) if counts else 0.)
    return result


def _cell(recall: Optional[float]) -> str:
    return 'n/a' if recall is None else f'{recall:.3f}'


def format_recall_table(result: dict,
                        iou_thrs: Optional[Sequence[float]] = None) -> str:
    """A markdown table of :func:`eval_proposal_recall`'s result."""
    iou_thrs = iou_thrs or DEFAULT_IOU_THRS
    head = '| objects | count | ' + ' | '.join(f'recall@{t:g}'
                                               for t in iou_thrs) + ' |'
    rows = [head, '|' + ' --- |' * (2 + len(iou_thrs))]
    for name in ('all', 'small', 'medium', 'large'):
        r = result[name]
        rows.append(f'| {name} | {r["num_gt"]} | ' +
                    ' | '.join(_cell(r[f'recall@{t:g}'])
                               for t in iou_thrs) + ' |')
    return '\n'.join(rows)

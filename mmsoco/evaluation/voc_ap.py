"""PASCAL VOC detection AP as detectron2's ``PascalVOCDetectionEvaluator``
reports it on VOC2007 test (the protocol of SoCo's and its peers' VOC
numbers; https://arxiv.org/abs/2106.02637, docs/method.md, fine-tuning).

Per class and IoU threshold: all detections of the class, over all images,
in descending score order; each is matched to the ground-truth box of its
image it overlaps most (IoU with the VOC devkit's inclusive pixel
convention, width = x2 - x1 + 1). A match with IoU strictly above the
threshold is a true positive if that box is not difficult and not matched
yet, a false positive if it was matched already, and neither if the box is
difficult; every other detection is a false positive. Recall counts the
non-difficult boxes only. AP is the VOC2007 11-point one (mean over
recall levels 0, 0.1, ..., 1 of the highest precision at that recall or
above), used by detectron2 for every threshold on VOC2007; ``'area'``
gives the VOC2010+ area under the precision envelope instead.

Pure numpy; the metric module is a thin shell around :func:`voc_map`.
"""
from typing import Dict, List, Sequence

import numpy as np

#: detectron2's thresholds: 0.5, 0.55, ..., 0.95.
COCO_STYLE_IOUS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
AP_MODES = ('11points', 'area')


def legacy_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) with boxes (n, 4), both ``x1, y1, x2, y2`` with
    inclusive pixel coordinates (widths and heights + 1), as the VOC devkit."""
    iw = np.maximum(
        np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]) + 1.,
        0.)
    ih = np.maximum(
        np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]) + 1.,
        0.)
    inter = iw * ih
    area = (box[2] - box[0] + 1.) * (box[3] - box[1] + 1.)
    areas = (boxes[:, 2] - boxes[:, 0] + 1.) * (boxes[:, 3] - boxes[:, 1] + 1.)
    return inter / (area + areas - inter)


def match_detections(dets: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                     difficult: Sequence[np.ndarray], iou_thr: float):
    """True / false positive flags of one class's detections.

    Args:
        dets: per image, (n_i, 5) ``x1, y1, x2, y2, score``.
        gts: per image, (m_i, 4) ground-truth boxes.
        difficult: per image, (m_i,) bool, the boxes' difficult flags.
        iou_thr: a match needs IoU > ``iou_thr``.

    Returns:
        ``(tp, fp, num_positives)``: flags (N,) of all detections in
        descending score order (a detection on a difficult box is neither),
        and the number of non-difficult boxes.
    """
    image_of = np.concatenate(
        [np.full(len(d), i, dtype=np.int64)
         for i, d in enumerate(dets)] + [np.zeros(0, dtype=np.int64)])
    all_dets = np.concatenate(
        [np.asarray(d, dtype=np.float64).reshape(-1, 5)
         for d in dets] + [np.zeros((0, 5))])
    order = np.argsort(-all_dets[:, 4], kind='stable')
    matched = [np.zeros(len(g), dtype=bool) for g in gts]
    tp = np.zeros(len(order))
    fp = np.zeros(len(order))
    for rank, index in enumerate(order):
        image = image_of[index]
        boxes = np.asarray(gts[image], dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            fp[rank] = 1
            continue
        ious = legacy_iou(all_dets[index, :4], boxes)
        best = int(np.argmax(ious))
        if ious[best] <= iou_thr:
            fp[rank] = 1
        elif difficult[image][best]:
            continue
        elif matched[image][best]:
            fp[rank] = 1
        else:
            tp[rank] = 1
            matched[image][best] = True
    num_positives = int(
        sum((~np.asarray(d, dtype=bool)).sum() for d in difficult))
    return tp, fp, num_positives


def average_precision(recall: np.ndarray,
                      precision: np.ndarray,
                      mode: str = '11points') -> float:
    """VOC AP from a precision / recall curve (detections in score order).

    ``'11points'`` (VOC2007): mean over t in 0, 0.1, ..., 1 of
    max(precision[recall >= t]), 0 where no recall reaches t.
    ``'area'`` (VOC2010+): area under the monotone precision envelope.
    """
    if mode not in AP_MODES:
        raise ValueError(f'mode must be one of {AP_MODES}, got {mode!r}')
    if mode == '11points':
        total = 0.
        # np.arange, as the devkit's 0:0.1:1 and detectron2: 0.3 is then
        # 0.30000000000000004, so a recall of exactly 3/10 does not reach it
        for t in np.arange(0., 1.1, 0.1):
            reached = precision[recall >= t]
            total += reached.max() if reached.size else 0.
        return total / 11.
    rec = np.concatenate([[0.], recall, [1.]])
    prec = np.concatenate([[0.], precision, [0.]])
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    steps = np.where(rec[1:] != rec[:-1])[0]
    return float(np.sum((rec[steps + 1] - rec[steps]) * prec[steps + 1]))


def class_ap(dets,
             gts,
             difficult,
             iou_thr: float,
             mode: str = '11points') -> float:
    """AP of one class at one IoU threshold; NaN when it has no
    non-difficult box (no recall to measure)."""
    tp, fp, num_positives = match_detections(dets, gts, difficult, iou_thr)
    if num_positives == 0:
        return float('nan')
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / num_positives
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return average_precision(recall, precision, mode)


def voc_map(det_results: List[List[np.ndarray]],
            annotations: List[Dict[str, np.ndarray]],
            iou_thrs: Sequence[float] = COCO_STYLE_IOUS,
            mode: str = '11points') -> Dict[float, np.ndarray]:
    """Per IoU threshold, the AP of every class.

    Args:
        det_results: per image, per class (n, 5) ``x1, y1, x2, y2, score``.
        annotations: per image, ``bboxes`` (m, 4) and ``labels`` (m,) of the
            boxes, ``bboxes_ignore`` / ``labels_ignore`` of the difficult
            ones (mmdet's ``VOCMetric.process`` layout).
        iou_thrs: thresholds. mode: see :func:`average_precision`.

    Returns:
        ``{iou_thr: (num_classes,) AP}``, NaN for a class with no
        non-difficult box.
    """
    if len(det_results) != len(annotations):
        raise ValueError(f'{len(det_results)} detection results for '
                         f'{len(annotations)} images')
    num_classes = len(det_results[0]) if det_results else 0
    per_class = []
    for label in range(num_classes):
        dets, gts, difficult = [], [], []
        for image_dets, ann in zip(det_results, annotations):
            keep = ann['labels'] == label
            hard = ann['labels_ignore'] == label
            dets.append(image_dets[label])
            gts.append(
                np.concatenate([
                    np.asarray(ann['bboxes']).reshape(-1, 4)[keep],
                    np.asarray(ann['bboxes_ignore']).reshape(-1, 4)[hard]
                ]))
            difficult.append(np.r_[np.zeros(keep.sum(), bool),
                                   np.ones(hard.sum(), bool)])
        per_class.append((dets, gts, difficult))
    return {
        thr:
        np.array([class_ap(*c, iou_thr=thr, mode=mode) for c in per_class])
        for thr in iou_thrs
    }

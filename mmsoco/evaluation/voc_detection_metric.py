"""VOC2007 test detection metric as detectron2 reports it (AP, AP50, AP75).

https://arxiv.org/abs/2106.02637, docs/method.md, fine-tuning: the VOC
transfer numbers of SoCo and its peers (MoCo, PixPro) come from detectron2's
``PascalVOCDetectionEvaluator``: the 11-point VOC2007 AP at each IoU
threshold 0.5, 0.55, ..., 0.95, averaged over the 20 classes; AP is the mean
over the thresholds, AP50 / AP75 the values at 0.5 / 0.75, all in percent.
mmdet's ``VOCMetric`` reports one threshold's mAP at a time (or the mean of
rounded ones); this metric reports the three numbers of the papers' tables.
The computation is :func:`mmsoco.evaluation.voc_ap.voc_map`.
"""
from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np
from mmdet.evaluation.metrics import VOCMetric
from mmengine.logging import MMLogger

from mmsoco.registry import METRICS
from .voc_ap import AP_MODES, COCO_STYLE_IOUS, voc_map


@METRICS.register_module()
class VOCDetectionAPMetric(VOCMetric):
    """AP (IoU 0.5:0.95), AP50 and AP75 on VOC, detectron2's protocol.

    SoCo (https://arxiv.org/abs/2106.02637), transfer to VOC:
    docs/method.md section 5.2.

    Difficult boxes (the dataset's ``ignored_instances``) count neither as
    misses nor, when detected, as false positives. Classes with no
    non-difficult box are left out of the class mean (none in VOC2007 test).

    Args:
        iou_thrs (Sequence[float]): Thresholds averaged into AP. Defaults to
            0.5, 0.55, ..., 0.95; 0.5 and 0.75 must be among them.
        eval_mode (str): ``'11points'`` (VOC2007, detectron2 on VOC2007) or
            ``'area'`` (VOC2010+). Defaults to ``'11points'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix; ``'pascal_voc'``.
    """

    def __init__(self,
                 iou_thrs: Sequence[float] = COCO_STYLE_IOUS,
                 eval_mode: str = '11points',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if eval_mode not in AP_MODES:
            raise ValueError(
                f'eval_mode must be one of {AP_MODES}, got {eval_mode!r}')
        iou_thrs = [float(t) for t in iou_thrs]
        for needed in (0.5, 0.75):
            if not any(abs(t - needed) < 1e-9 for t in iou_thrs):
                raise ValueError(f'iou_thrs must contain {needed} (AP'
                                 f'{int(needed * 100)}), got {iou_thrs}')
        super().__init__(
            iou_thrs=iou_thrs,
            metric='mAP',
            eval_mode=eval_mode,
            collect_device=collect_device,
            prefix=prefix)

    def compute_metrics(self, results: list) -> dict:
        annotations, det_results = zip(*results)
        per_thr = voc_map(
            list(det_results),
            list(annotations),
            iou_thrs=self.iou_thrs,
            mode=self.eval_mode)
        # class mean per threshold, in percent
        means = {
            thr: 100. * float(np.nanmean(aps))
            for thr, aps in per_thr.items()
        }
        by_pct = {int(round(thr * 100)): m for thr, m in means.items()}
        metrics = OrderedDict(
            AP=float(np.mean(list(means.values()))),
            AP50=by_pct[50],
            AP75=by_pct[75])
        MMLogger.get_current_instance().info(
            'VOC AP (%s) per IoU: ' % self.eval_mode +
            ', '.join(f'{pct}: {value:.2f}' for pct, value in by_pct.items()))
        return metrics

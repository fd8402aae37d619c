"""VOC2007 AP as detectron2 reports it: a hand-worked 11-point case,
difficult boxes ignored, and agreement with mmdet's eval_map on random data."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmsoco.evaluation import VOCDetectionAPMetric
from mmsoco.evaluation.voc_ap import average_precision, voc_map

# One class, one image; boxes with the VOC devkit's inclusive pixels
# (a box x1..x2 is x2 - x1 + 1 wide).
GT = np.array([[0, 0, 9, 9], [20, 20, 29, 29]], dtype=np.float32)  # A, B
DIFFICULT = np.array([[40, 40, 49, 49]], dtype=np.float32)  # D
DETS = np.array([
    [0, 0, 9, 9, 0.9],  # on A: IoU 1 -> TP
    [40, 40, 49, 49, 0.8],  # on difficult D -> neither TP nor FP
    [60, 60, 69, 69, 0.7],  # on nothing -> FP
    [0, 0, 9, 9, 0.6],  # on A again -> FP (duplicate)
    # on B shifted right by 2: overlap 8 x 10 = 80, union 100 + 100 - 80,
    # IoU 80 / 120 = 2/3 -> TP at IoU thresholds 0.5 ... 0.65, FP above
    [22, 20, 31, 29, 0.5],
])


def _annotation():
    return dict(
        bboxes=GT,
        labels=np.zeros(2, dtype=np.int64),
        bboxes_ignore=DIFFICULT,
        labels_ignore=np.zeros(1, dtype=np.int64))


def test_11_point_ap50_worked_by_hand():
    # Two non-difficult boxes. In score order, without the detection on D:
    #   TP, FP, FP, TP  -> recall    .5, .5,  .5,  1
    #                      precision 1,  1/2, 1/3, 1/2
    # 11-point: recall levels 0 .. .5 (6 levels) reach precision 1;
    # levels .6 .. 1 (5 levels) only the last detection: 1/2.
    # AP50 = (6 * 1 + 5 * 0.5) / 11 = 8.5 / 11 = 0.772727...
    # (were D an ordinary box: TP, TP, FP, FP, TP over 3 boxes, AP differs;
    # were the detection on D a false positive: (6 + 5 * 0.4) / 11 = 0.727;
    # the 'area' AP is 0.5 * 1 + 0.5 * 0.5 = 0.75.)
    aps = voc_map([[DETS]], [_annotation()], iou_thrs=(0.5, ), mode='11points')
    assert aps[0.5][0] == pytest.approx(8.5 / 11)
    area = voc_map([[DETS]], [_annotation()], iou_thrs=(0.5, ), mode='area')
    assert area[0.5][0] == pytest.approx(0.75)


def test_ap_over_thresholds_worked_by_hand():
    # IoU > 0.7 (thresholds 0.7 ... 0.95): the B detection becomes a FP:
    #   TP, FP, FP, FP -> recall .5 throughout, precision 1, 1/2, 1/3, 1/4
    #   11-point: 6 levels at 1, 5 levels unreached: 6 / 11.
    # Thresholds 0.5, 0.55, 0.6, 0.65 give 8.5 / 11 (IoU 2/3 > 0.65).
    aps = voc_map([[DETS]], [_annotation()])
    expected = {t: (8.5 / 11 if t < 0.66 else 6 / 11) for t in aps}
    for thr, value in aps.items():
        assert value[0] == pytest.approx(expected[thr]), thr

    metric = VOCDetectionAPMetric()
    metric.dataset_meta = dict(classes=('thing', ))
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        bboxes=torch.from_numpy(GT), labels=torch.zeros(2, dtype=torch.long))
    sample.ignored_instances = InstanceData(
        bboxes=torch.from_numpy(DIFFICULT),
        labels=torch.zeros(1, dtype=torch.long))
    sample.pred_instances = InstanceData(
        bboxes=torch.from_numpy(DETS[:, :4]),
        scores=torch.from_numpy(DETS[:, 4]),
        labels=torch.zeros(5, dtype=torch.long))
    metric.process({}, [sample.to_dict()])
    result = metric.evaluate(1)
    ap_by_hand = 100 * (4 * 8.5 / 11 + 6 * 6 / 11) / 10
    assert result['pascal_voc/AP'] == pytest.approx(ap_by_hand)
    assert result['pascal_voc/AP50'] == pytest.approx(100 * 8.5 / 11)
    assert result['pascal_voc/AP75'] == pytest.approx(100 * 6 / 11)


def test_11_point_levels_follow_the_devkit():
    # a recall of exactly 3/10 does not reach the level 0.3 (the devkit's
    # 0:0.1:1 and detectron2's np.arange give 0.30000000000000004)
    recall = np.array([0.1, 0.2, 0.3])
    precision = np.array([1.0, 1.0, 1.0])
    assert average_precision(recall, precision) == pytest.approx(3 / 11)


def test_agrees_with_mmdet_eval_map_on_random_data():
    """Random float boxes (no IoU ties, where detectron2's '>' and mmdet's
    '>=' differ): the same 11-point AP as mmdet's eval_map per threshold."""
    from mmdet.evaluation.functional import eval_map
    rng = np.random.default_rng(0)

    def boxes(n):
        xy = rng.uniform(0, 80, (n, 2))
        wh = rng.uniform(5, 40, (n, 2))
        return np.hstack([xy, xy + wh]).astype(np.float32)

    dets, anns = [], []
    for _ in range(6):
        gt, hard = boxes(4), boxes(1)
        anns.append(
            dict(
                bboxes=gt,
                labels=rng.integers(0, 3, 4),
                bboxes_ignore=hard,
                labels_ignore=np.array([1])))
        # jittered copies of the boxes plus random ones
        image_dets = []
        for label in range(3):
            near = np.vstack([gt, hard]) + rng.normal(0, 3, (5, 4))
            d = np.vstack([near, boxes(3)])
            image_dets.append(
                np.hstack([d, rng.uniform(0, 1,
                                          (len(d), 1))]).astype(np.float32))
        dets.append(image_dets)
    ours = voc_map(dets, anns, iou_thrs=(0.5, 0.75))
    for thr in (0.5, 0.75):
        mean_ap, per_class = eval_map(
            dets,
            anns,
            iou_thr=thr,
            eval_mode='11points',
            nproc=1,
            use_legacy_coordinate=True,
            logger='silent')
        theirs = [r['ap'] for r in per_class]
        np.testing.assert_allclose(ours[thr], theirs, rtol=1e-5, atol=1e-6)


def test_iou_equal_to_the_threshold_is_no_match():
    # a 12 x 10 box and its copy shifted right by 4: overlap 8 x 10 = 80,
    # union 120 + 120 - 80 = 160, IoU exactly 0.5. detectron2 (and the
    # devkit) need IoU > threshold: a false positive at 0.5, so AP50 = 0;
    # mmdet's eval_map ('>=') would count it.
    gt = dict(
        bboxes=np.array([[0, 0, 11, 9]], dtype=np.float32),
        labels=np.array([0]),
        bboxes_ignore=np.zeros((0, 4)),
        labels_ignore=np.zeros(0, dtype=np.int64))
    det = np.array([[4, 0, 15, 9, 0.9]], dtype=np.float32)
    aps = voc_map([[det]], [gt], iou_thrs=(0.45, 0.5))
    assert aps[0.45][0] == pytest.approx(1.0)
    assert aps[0.5][0] == 0.0

# Mask R-CNN R50-FPN 1x on LVIS v1 (repeat-factor sampling, threshold 1e-3,
# as mmdet's lvis configs); needs the `lvis` API package.
_base_ = [
    './models/mask-rcnn_r50-fpn-4conv1fc-syncbn.py',
    'mmdet::_base_/datasets/lvis_v1_instance.py', './schedules/sgd_1x.py',
    'mmdet::_base_/default_runtime.py'
]
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=1203), mask_head=dict(num_classes=1203)),
    # LVIS allows up to 300 detections per image.
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))

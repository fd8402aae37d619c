# Mask R-CNN R50-FPN 1x on LVIS v1, SoCo's LVIS recipe (detectron2
# SoCo_FPN_Star_400ep_lvis.yaml on LVIS_R_50_FPN_1x.yaml): 90k iterations,
# steps 60k / 80k, multi-scale 640-800, repeat-factor sampling at 1e-3, up to
# 300 detections per image at score >= 1e-4, precise BN. Validated at the end
# only (LVIS evaluation is long). Needs the `lvis` API package.
_base_ = [
    './models/mask-rcnn_r50-fpn-4conv1fc-syncbn.py',
    './datasets/lvis_v1_instance_ms.py', './schedules/sgd_90k.py',
    './finetune_runtime.py'
]
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=1203), mask_head=dict(num_classes=1203)),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
train_cfg = dict(val_interval=90000)

# Faster R-CNN R50-C4 on VOC07+12 trainval, 24k iterations, VOC2007 test: the
# peers' detectron2 recipe (MoCo's pascal_voc_R_50_C4_24k.yaml on
# Base-RCNN-C4-BN.yaml): res5 with the extra norm, SyncBN everywhere, precise
# BN, weight decay 1e-4.
_base_ = [
    './models/faster-rcnn_r50-c4-syncbn.py', './datasets/voc0712_ms.py',
    './schedules/sgd_voc_24k.py', './finetune_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
default_hooks = dict(checkpoint=dict(interval=4000))

# Faster R-CNN R50-C4 on VOC07+12 trainval, 24k iterations; VOC2007 test.
_base_ = [
    './models/faster-rcnn_r50-c4-syncbn.py', './datasets/voc0712_ms.py',
    './schedules/sgd_voc_24k.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
log_processor = dict(by_epoch=False)

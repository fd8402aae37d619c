# Mask R-CNN R50-FPN (SyncBN, 4conv1fc box head) 2x on COCO, supervised
# baseline: backbone from torchvision's ImageNet ResNet-50, everything else as
# the SoCo twin.
_base_ = [
    './_base_/models/mask-rcnn_r50-fpn-4conv1fc-syncbn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/sgd_2x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='torchvision://resnet50')))

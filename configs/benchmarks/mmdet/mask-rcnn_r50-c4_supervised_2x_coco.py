# Mask R-CNN R50-C4 (SyncBN) 2x on COCO, supervised baseline: backbone and res5
# from torchvision's ImageNet ResNet-50, everything else as the SoCo twin.
_base_ = [
    './_base_/models/mask-rcnn_r50-c4-syncbn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/sgd_2x.py',
    'mmdet::_base_/default_runtime.py',
]
# res5 is the RoI shared head in C4: it takes torchvision's layer4.
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    roi_head=dict(
        shared_head=dict(
            init_cfg=dict(
                type='Pretrained', checkpoint='torchvision://resnet50'))))

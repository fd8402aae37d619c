# Mask R-CNN R50-C4 (SyncBN, res5 + extra norm) 2x (180k iterations) on COCO,
# supervised baseline: backbone and res5 from torchvision's ImageNet ResNet-50,
# everything else as the SoCo twin.
_base_ = [
    './_base_/models/mask-rcnn_r50-c4-syncbn.py',
    './_base_/datasets/coco_instance_ms.py',
    './_base_/schedules/sgd_180k.py',
    './_base_/finetune_runtime.py',
]
# res5 is the RoI shared head in C4: it takes torchvision's layer4.
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    roi_head=dict(
        shared_head=dict(
            init_cfg=dict(
                type='Pretrained', checkpoint='torchvision://resnet50'))))

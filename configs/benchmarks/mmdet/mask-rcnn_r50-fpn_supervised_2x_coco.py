# Mask R-CNN R50-FPN (SyncBN, 4conv1fc box head) 2x (180k iterations) on COCO,
# supervised baseline: backbone from torchvision's ImageNet ResNet-50,
# everything else as the SoCo twin.
_base_ = [
    './_base_/models/mask-rcnn_r50-fpn-4conv1fc-syncbn.py',
    './_base_/datasets/coco_instance_ms.py',
    './_base_/schedules/sgd_180k.py',
    './_base_/finetune_runtime.py',
]
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='torchvision://resnet50')))

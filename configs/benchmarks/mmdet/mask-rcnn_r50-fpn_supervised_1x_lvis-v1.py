# Mask R-CNN R50-FPN (SyncBN, 4conv1fc box head) 1x (90k iterations) on LVIS
# v1, supervised baseline: backbone from torchvision's ImageNet ResNet-50,
# everything else as the SoCo twin.
_base_ = [
    './_base_/mask-rcnn_r50-fpn-4conv1fc-syncbn_1x_lvis-v1.py',
]
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='torchvision://resnet50')))

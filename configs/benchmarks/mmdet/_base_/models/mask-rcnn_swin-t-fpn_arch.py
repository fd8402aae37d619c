# Step 1 of 2 (see mask-rcnn_swin-t-fpn-4conv1fc-syncbn.py): mmdet's Mask R-CNN
# R50-FPN with its ResNet removed (a Swin backbone shares none of its
# arguments), the FPN and the box-head trunk taken whole from the Swin-T
# architecture SoCo pretrains (configs/_base_/models/swin-t_fpn_4conv1fc.py).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../../../../_base_/models/swin-t_fpn_4conv1fc.py'
]
model = dict(
    backbone=dict(_delete_=True, type='SwinTransformer'),
    neck={{_base_.neck}},
    roi_head=dict(bbox_head={{_base_.bbox_head_trunk}}))

# Step 1 of 2 (see mask-rcnn_r50-fpn-4conv1fc-syncbn.py): mmdet's Mask R-CNN
# R50-FPN with backbone, neck and box-head trunk taken whole from the
# architecture SoCo pretrains (configs/_base_/models/r50_fpn_4conv1fc.py),
# the single source of truth. Not buildable on its own: the trunk's kwargs
# still sit under mmdet's Shared2FCBBoxHead type until step 2.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../../../../_base_/models/r50_fpn_4conv1fc.py'
]
model = dict(
    backbone={{_base_.backbone}},
    neck={{_base_.neck}},
    roi_head=dict(bbox_head={{_base_.bbox_head_trunk}}))

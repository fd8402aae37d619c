# Step 1 of 2 for the CPU demo detector (see mask-rcnn_r18-fpn_demo.py):
# mmdet's Mask R-CNN with the demo pretraining architecture
# (configs/_base_/models/r18_fpn_4conv1fc.py) taken whole.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../../../../_base_/models/r18_fpn_4conv1fc.py'
]
model = dict(
    backbone={{_base_.backbone}},
    neck={{_base_.neck}},
    roi_head=dict(bbox_head={{_base_.bbox_head_trunk}}))

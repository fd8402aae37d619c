# Mask R-CNN Swin-T-FPN as a SoCo Swin-T fine-tunes (docs/method.md section
# 4.5): the Swin-T of the architecture file whole (its drop path 0.2, as
# mmdet's Swin recipe), SyncBN in FPN, 4conv1fc box head and mask head, as
# the R50 recipes (mask-rcnn_r50-fpn-4conv1fc-syncbn.py).
_base_ = './mask-rcnn_swin-t-fpn_arch.py'
model = dict(
    backbone={{_base_.backbone}},
    # P6 is parameter-free max pooling of P5: the pretrained FPN covers it.
    neck=dict(num_outs=5),
    rpn_head=dict(
        in_channels={{_base_.neck.out_channels}},
        feat_channels={{_base_.neck.out_channels}}),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        bbox_head=dict(type='Shared4Conv1FCBBoxHead'),
        mask_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        mask_head=dict(
            in_channels={{_base_.neck.out_channels}},
            norm_cfg={{_base_.norm_cfg}})))

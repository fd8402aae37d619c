# Mask R-CNN R50-FPN as SoCo fine-tunes it (docs/method.md section 5.2): SyncBN in
# backbone, FPN, 4conv1fc box head and mask head; every stage trainable
# (frozen_stages=-1, norm_eval=False come from the architecture file).
# Only what the detector needs on top of the pretrained architecture is set
# here; initialisation is left to the twins (soco / supervised / scratch).
_base_ = './mask-rcnn_r50-fpn_arch.py'
model = dict(
    # no default ImageNet init: each twin says where its weights come from.
    backbone=dict(init_cfg=None),
    # P6 (stride 64, for the RPN's largest anchors) is parameter-free max
    # pooling of P5, so the pretrained FPN still covers every parameter.
    neck=dict(num_outs=5),
    rpn_head=dict(
        in_channels={{_base_.neck.out_channels}},
        feat_channels={{_base_.neck.out_channels}}),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        # The 4conv1fc head SoCo pretrains; its settings come whole from
        # the architecture base's bbox_head_trunk.
        bbox_head=dict(type='Shared4Conv1FCBBoxHead'),
        mask_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        mask_head=dict(
            in_channels={{_base_.neck.out_channels}},
            norm_cfg={{_base_.norm_cfg}})))

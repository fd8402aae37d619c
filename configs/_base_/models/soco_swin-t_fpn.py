# SoCo with a Swin-T backbone (docs/method.md section 4.5, "any mmdet
# backbone"): soco_r50fpn.py's model, every SoCo setting the same, on the
# architecture of swin-t_fpn_4conv1fc.py (Swin-T -> FPN P2-P5 -> scale-aware
# RoIAlign 7x7 -> 4conv1fc -> projector -> predictor). A test holds the SoCo
# settings equal to soco_r50fpn.py's.
_base_ = ['./swin-t_fpn_4conv1fc.py']

model = dict(
    type='SoCo',
    data_preprocessor=dict(type='SoCoDataPreprocessor'),
    # No drop path in pretraining: the EMA target runs in train mode (BN
    # batch statistics, as the reference), so drop path would also perturb
    # the regression targets. The fine-tuning keeps the architecture's 0.2.
    backbone=dict(_base_.backbone, drop_path_rate=0.),
    neck={{_base_.neck}},
    bbox_head=dict(type='ConvFCFeatureHead', **_base_.bbox_head_trunk),
    roi_extractor=dict(
        type='ScaleAwareRoIExtractor',
        roi_layer=dict(
            type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True),
        out_channels={{_base_.neck.out_channels}},
        featmap_strides=[4, 8, 16, 32],
        level_mapping='scale_aware',
        scale_ranges=(48, 96, 192, 224),
        oversize='drop'),
    projector=dict(
        type='ProjectionMLP',
        in_channels={{_base_.bbox_head_trunk.fc_out_channels}},
        hid_channels=4096,
        out_channels=256,
        norm_cfg={{_base_.norm_cfg}}),
    predictor=dict(
        type='ProjectionMLP',
        in_channels=256,
        hid_channels=4096,
        out_channels=256,
        norm_cfg={{_base_.norm_cfg}}),
    head_batching='per_level',
    loss=dict(type='CosineSimilarityLoss'),
    base_momentum=0.99,
    end_momentum=1.0)

# K = the reference's count, as the R50 recipes (docs/reference_parity.md row 22).
custom_hooks = [dict(type='MomentumUpdateHook', schedule_length='reference')]

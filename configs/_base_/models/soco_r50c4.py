# SoCo R50-C4 (docs/method.md section 3): ResNet-50 stages 1-3 (C4, stride 16) ->
# RoIAlign 14x14 on C4 (one level, so no scale assignment) -> res5 (mmdet's
# ResLayer, the detector's roi_head.shared_head) -> average pooling (2048-d)
# -> projector -> predictor. Architecture from r50_c4.py.
_base_ = ['./r50_c4.py']

model = dict(
    type='SoCo',
    # ImageNet mean / std, BGR -> RGB by default; the runnable configs take
    # the dataset base's `data_preprocessor`.
    data_preprocessor=dict(type='SoCoDataPreprocessor'),
    backbone={{_base_.backbone}},
    shared_head={{_base_.shared_head}},
    roi_extractor=dict(
        type='ScaleAwareRoIExtractor',
        roi_layer=dict(
            type='RoIAlign',
            output_size={{_base_.roi_feat_size}},
            sampling_ratio=0,
            aligned=True),
        out_channels=1024,
        featmap_strides=[16],
        level_mapping='fixed',
        fixed_level=0),
    projector=dict(
        type='ProjectionMLP',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        norm_cfg={{_base_.norm_cfg}}),
    predictor=dict(
        type='ProjectionMLP',
        in_channels=256,
        hid_channels=4096,
        out_channels=256,
        norm_cfg={{_base_.norm_cfg}}),
    # The reference's BN batches: head, projector and predictor run once per
    # (view, box set, FPN level). The configs/soco/*_fast.py twins use
    # 'mixed_levels' (one batch per view; docs/reference_parity.md).
    head_batching='per_level',
    loss=dict(type='CosineSimilarityLoss'),
    base_momentum=0.99,
    end_momentum=1.0)

# K = the reference's int(N / world / batch * epochs) (docs/reference_parity.md
# row 22; schedule_length='run' counts the steps the run takes).
custom_hooks = [dict(type='MomentumUpdateHook', schedule_length='reference')]

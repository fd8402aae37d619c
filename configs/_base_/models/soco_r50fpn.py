# SoCo R50-FPN (docs/method.md section 3): online = ResNet-50 + FPN (P2-P5) +
# scale-aware RoIAlign 7x7 + 4conv1fc + projector + predictor; target = EMA
# copy without the predictor. Backbone, FPN and head settings come from the
# detector's architecture file, never re-typed here.
_base_ = ['./r50_fpn_4conv1fc.py']

model = dict(
    type='SoCo',
    # ImageNet mean / std, BGR -> RGB by default; the runnable configs take
    # the dataset base's `data_preprocessor`.
    data_preprocessor=dict(type='SoCoDataPreprocessor'),
    backbone={{_base_.backbone}},
    neck={{_base_.neck}},
    bbox_head=dict(type='ConvFCFeatureHead', **_base_.bbox_head_trunk),
    roi_extractor=dict(
        type='ScaleAwareRoIExtractor',
        roi_layer=dict(
            type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True),
        out_channels={{_base_.neck.out_channels}},
        featmap_strides=[4, 8, 16, 32],
        # sqrt(area) bounds of P2..P5 in view pixels; 'mmdet' or 'fixed'
        # level_mapping switches scale-awareness off.
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
    # The reference's BN batches: head, projector and predictor run once per
    # (view, box set, FPN level). The configs/soco/*_fast.py twins use
    # 'mixed_levels' (one batch per view; docs/reference_parity.md).
    head_batching='per_level',
    loss=dict(type='CosineSimilarityLoss'),
    base_momentum=0.99,
    end_momentum=1.0)

# Drives the target's cosine momentum from the runner's iteration counter.
# K = the reference's int(N / world / batch * epochs) (docs/reference_parity.md
# row 22; schedule_length='run' counts the steps the run takes).
custom_hooks = [dict(type='MomentumUpdateHook', schedule_length='reference')]

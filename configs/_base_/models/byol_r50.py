# The image-level baseline from SoCo's parts (BYOL): the same ResNet-50 (from
# r50_fpn_4conv1fc.py), global average pooling of C5, the same projector /
# predictor, loss, EMA and optimiser; no FPN, no RoI head.
_base_ = ['./r50_fpn_4conv1fc.py']

model = dict(
    type='BYOL',
    # ImageNet mean / std, BGR -> RGB by default; the runnable configs take
    # the dataset base's `data_preprocessor`.
    data_preprocessor=dict(type='SoCoDataPreprocessor'),
    backbone={{_base_.backbone}},
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
    loss=dict(type='CosineSimilarityLoss'),
    base_momentum=0.99,
    end_momentum=1.0)

custom_hooks = [dict(type='MomentumUpdateHook')]

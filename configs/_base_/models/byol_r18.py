# BYOL twin of soco_r18fpn.py: the same ResNet-18 (r18_fpn_4conv1fc.py),
# global pooling of C5 (512-d), the same projector / predictor sizes.
_base_ = ['./r18_fpn_4conv1fc.py']

model = dict(
    type='BYOL',
    # ImageNet mean / std, BGR -> RGB by default; the runnable configs take
    # the dataset base's `data_preprocessor`.
    data_preprocessor=dict(type='SoCoDataPreprocessor'),
    backbone={{_base_.backbone}},
    projector=dict(
        type='ProjectionMLP',
        in_channels=512,
        hid_channels=1024,
        out_channels=128,
        norm_cfg=dict(type='BN1d')),
    predictor=dict(
        type='ProjectionMLP',
        in_channels=128,
        hid_channels=1024,
        out_channels=128,
        norm_cfg=dict(type='BN1d')),
    loss=dict(type='CosineSimilarityLoss'),
    base_momentum=0.99,
    end_momentum=1.0)

custom_hooks = [dict(type='MomentumUpdateHook')]

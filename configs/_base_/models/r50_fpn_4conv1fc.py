# The detector architecture SoCo aligns pretraining with (docs/method.md section 3):
# ResNet-50 + FPN (P2-P5) + the 4conv1fc box-head trunk.
# Single source of truth: the pretraining configs (configs/soco/) and the
# fine-tuning configs (configs/benchmarks/mmdet/) both take these settings via
# {{_base_.backbone}}, {{_base_.neck}} and {{_base_.bbox_head_trunk}}, so the
# pretrained network and the detector cannot drift apart.
norm_cfg = dict(type='SyncBN', requires_grad=True)

backbone = dict(
    type='ResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    # zero-init of the last BN of each residual block, as the reference.
    zero_init_residual=True)

neck = dict(
    type='FPN',
    in_channels=[256, 512, 1024, 2048],
    out_channels=256,
    num_outs=4,  # P2-P5 only in pretraining; detectors add a parameter-free P6.
    norm_cfg=norm_cfg,  # BN on lateral and output convs, hence no conv bias.
    upsample_cfg=dict(mode='nearest'))

# The shared trunk of mmdet's Shared4Conv1FCBBoxHead: 4 x (3x3 conv, BN, ReLU),
# flatten, FC, ReLU. These are that class's own arguments (it fixes the 4 convs
# and 1 fc itself; SoCo's ConvFCFeatureHead defaults to the same counts), so the
# detector uses it as `dict(type='Shared4Conv1FCBBoxHead', **bbox_head_trunk)`.
# Parameter names match (shared_convs.{0..3}.conv/bn, shared_fcs.0), so
# conversion is a pure prefix change.
bbox_head_trunk = dict(
    in_channels=256,
    conv_out_channels=256,
    fc_out_channels=1024,
    roi_feat_size=7,
    norm_cfg=norm_cfg)

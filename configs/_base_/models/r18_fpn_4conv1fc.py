# A small CPU-sized twin of r50_fpn_4conv1fc.py for the demo and the CPU transfer
# study: ResNet-18 + FPN (P2-P5) + a narrower 4conv1fc trunk, plain BN
# (SyncBN needs a GPU process group). Shared by the demo pretraining config and
# the demo fine-tuning config.
norm_cfg = dict(type='BN', requires_grad=True)

backbone = dict(
    type='ResNet',
    depth=18,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    zero_init_residual=True)

neck = dict(
    type='FPN',
    in_channels=[64, 128, 256, 512],
    out_channels=64,
    num_outs=4,
    norm_cfg=norm_cfg,
    upsample_cfg=dict(mode='nearest'))

# Shared4Conv1FCBBoxHead's arguments, as in r50_fpn_4conv1fc.py.
bbox_head_trunk = dict(
    in_channels=64,
    conv_out_channels=64,
    fc_out_channels=256,
    roi_feat_size=7,
    norm_cfg=norm_cfg)

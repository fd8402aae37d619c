# The R50-C4 architecture SoCo's C4 variant aligns with (docs/method.md sections 3, 5):
# ResNet-50 stages 1-3 as backbone (C4, stride 16); res5 as the RoI shared head.
# Shared by configs/soco/soco_r50c4_*.py and configs/benchmarks/mmdet/*r50-c4*.py.
norm_cfg = dict(type='SyncBN', requires_grad=True)

backbone = dict(
    type='ResNet',
    depth=50,
    num_stages=3,
    strides=(1, 2, 2),
    dilations=(1, 1, 1),
    out_indices=(2, ),
    frozen_stages=-1,
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    zero_init_residual=True)

# mmdet's ResLayer for res5, used as roi_head.shared_head downstream
# (its parameters live under `layer4.`).
shared_head = dict(
    type='ResLayer',
    depth=50,
    stage=3,
    stride=2,
    dilation=1,
    style='pytorch',
    norm_cfg=norm_cfg,
    norm_eval=False)

roi_feat_size = 14  # RoIAlign 14x14 on C4, res5 halves it to 7x7.

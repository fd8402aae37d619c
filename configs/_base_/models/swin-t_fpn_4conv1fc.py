# The Swin-T + FPN + 4conv1fc architecture (docs/method.md section 4.5, "any
# mmdet backbone"): r50_fpn_4conv1fc.py with mmdet's SwinTransformer (Swin-T,
# patch 4, window 7; as mmdet's mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py) in
# place of the ResNet-50. Single source of truth for the SoCo Swin model
# (soco_swin-t_fpn.py) and its Mask R-CNN fine-tuning
# (configs/benchmarks/mmdet/mask-rcnn_swin-t-fpn_soco_1x_coco.py); the FPN
# and the 4conv1fc trunk (SyncBN) are the R50 architecture's, only the FPN's
# input widths follow the four Swin stages.
_base_ = './r50_fpn_4conv1fc.py'

backbone = dict(
    _delete_=True,
    type='SwinTransformer',
    embed_dims=96,
    depths=[2, 2, 6, 2],
    num_heads=[3, 6, 12, 24],
    window_size=7,
    mlp_ratio=4,
    qkv_bias=True,
    qk_scale=None,
    drop_rate=0.,
    attn_drop_rate=0.,
    drop_path_rate=0.2,
    patch_norm=True,
    out_indices=(0, 1, 2, 3),
    with_cp=False,
    # mmdet's names already (a SoCo / mmpretrain-layout checkpoint); True
    # only for the official Swin release, read by the backbone's own init.
    convert_weights=False)

neck = dict(in_channels=[96, 192, 384, 768])

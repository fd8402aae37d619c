# SoCo Swin-T + FPN warm-started from an ImageNet Swin-T you already have,
# then 12 epochs of COCO train2017 + unlabeled2017 (docs/method.md section
# 4.5, "any mmdet backbone"). 8 GPUs x 256 = 2048 images per step, lr 8.0:
#   tools/dist_train.sh configs/soco/soco-warm_swin-t-fpn_12e_coco.py 8 \
#       --cfg-options model.init_cfg.checkpoint=checkpoints/swin-t.pth
# The checkpoint: Swin-T under mmdet's SwinTransformer names ("backbone.*" as
# an mmdet / mmpretrain-layout file, or an mmsoco one). The official Swin
# release (swin_tiny_patch4_window7_224.pth) is read by the backbone's own
# loader instead, without mmsoco's check:
#   --cfg-options model.init_cfg=None model.backbone.convert_weights=True \
#       model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=swin_tiny_patch4_window7_224.pth
# Fine-tune: configs/benchmarks/mmdet/mask-rcnn_swin-t-fpn_soco_1x_coco.py.
# Estimated cost: ~16 V100-hours (an estimate from the authors' cost per image
# and Swin-T's FLOPs, likely low; arithmetic in benchmarks/README.md,
# "Warm-start recipes: estimated cost").
_base_ = [
    '../_base_/models/soco_swin-t_fpn.py',
    '../_base_/datasets/soco_fpn_coco.py',
    '../_base_/schedules/lars_coslr_warm_12e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    init_cfg=dict(
        type='PretrainedBackbone',
        checkpoint='checkpoints/swin-t.pth',
        layout='auto'))
# LARS as for the ResNet, its 1-D exclusions extended to Swin's LayerNorms
# ("norm" in their names) and its relative position tables (2-D, but biases
# of the attention, excluded from decay as in mmdet's Swin recipe).
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'norm': dict(decay_mult=0., lars_exclude=True),
            'relative_position_bias_table': dict(
                decay_mult=0., lars_exclude=True),
        }))
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))

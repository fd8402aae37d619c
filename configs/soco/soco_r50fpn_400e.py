# SoCo R50-FPN, 400 epochs on ImageNet-1K, no cutout (reference: 43.0 / 38.2).
# 8 GPUs x 256 (lr 8.0); for 16 x 128 see soco_r50fpn_100e.py.
_base_ = [
    '../_base_/models/soco_r50fpn.py',
    '../_base_/datasets/soco_fpn_imagenet.py',
    '../_base_/schedules/lars_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

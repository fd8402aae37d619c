# BYOL R50 baseline built from SoCo's parts, 400 epochs on ImageNet-1K, with
# SoCo's views, optimiser and schedule: the like-for-like image-level
# comparison for soco_r50fpn_400e.py. 8 GPUs x 256 (lr 8.0).
_base_ = [
    '../_base_/models/byol_r50.py',
    '../_base_/datasets/soco_fpn_imagenet.py',
    '../_base_/schedules/lars_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

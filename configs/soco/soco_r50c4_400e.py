# SoCo R50-C4, 400 epochs (reference: 40.9 / 35.3). 8 GPUs x 256 (lr 8.0).
_base_ = [
    '../_base_/models/soco_r50c4.py',
    '../_base_/datasets/soco_c4_imagenet.py',
    '../_base_/schedules/lars_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

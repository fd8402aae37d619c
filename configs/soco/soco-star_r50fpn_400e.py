# SoCo*, R50-FPN, 400 epochs (reference: 43.2 / 38.4): four views
# (224, 224, 192, V2 resized to 112), pairs (V1,V2), (V1,V3), (V1,V4), so six
# loss terms. 8 GPUs x 256 (lr 8.0); for 16 x 128 see soco_r50fpn_100e.py.
_base_ = [
    '../_base_/models/soco_r50fpn.py',
    '../_base_/datasets/soco_star_imagenet.py',
    '../_base_/schedules/lars_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

# SoCo R50-C4, 100 epochs (reference: Mask R-CNN C4 1x 40.4 / 34.9): V1 whole
# 224 and V2 RandomResizedCrop 224 (scale 0.6-1), cutout, one pair, two loss
# terms. 8 GPUs x 256 (lr 8.0); for 16 x 128 see soco_r50fpn_100e.py.
_base_ = [
    '../_base_/models/soco_r50c4.py',
    '../_base_/datasets/soco_c4_imagenet.py',
    '../_base_/schedules/lars_coslr_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

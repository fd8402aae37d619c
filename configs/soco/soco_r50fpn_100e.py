# SoCo R50-FPN, 100 epochs on ImageNet-1K with cutout (docs/method.md sections 2-4;
# reference: Mask R-CNN 1x 42.3 APbb / 37.6 APmk after fine-tuning).
# 8 GPUs x 256 = 2048 images per step, lr 8.0, SyncBN, AMP with --amp:
#   tools/dist_train.sh configs/soco/soco_r50fpn_100e.py 8 --amp
# 16 GPUs x 128 (the reference's set-up, same total batch and lr):
#   tools/dist_train.sh configs/soco/soco_r50fpn_100e.py 16 --amp \
#       --cfg-options train_dataloader.batch_size=128
_base_ = [
    '../_base_/models/soco_r50fpn.py',
    '../_base_/datasets/soco_fpn_cutout_imagenet.py',
    '../_base_/schedules/lars_coslr_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

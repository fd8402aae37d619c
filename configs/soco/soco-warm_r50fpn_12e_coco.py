# SoCo R50-FPN warm-started from an ImageNet ResNet-50 you already have, then
# 12 epochs of COCO train2017 + unlabeled2017 (241,690 images, no labels)
# (docs/method.md section 4.5). 8 GPUs x 256 = 2048 images per step, lr 8.0:
#   tools/dist_train.sh configs/soco/soco-warm_r50fpn_12e_coco.py 8 \
#       --cfg-options model.init_cfg.checkpoint=checkpoints/resnet50.pth
# Estimated cost: ~15 V100-hours (an estimate from the authors' ~7 days per 100
# ImageNet epochs on 4 V100s; arithmetic in benchmarks/README.md, "Warm-start
# recipes: estimated cost").
_base_ = [
    '../_base_/models/soco_r50fpn_warm.py',
    '../_base_/datasets/soco_fpn_coco.py',
    '../_base_/schedules/lars_coslr_warm_12e.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=256)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))

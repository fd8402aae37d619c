# The VOC07+12 Faster R-CNN C4 recipe of the peers' numbers (MoCo's
# detectron2 pascal_voc_R_50_C4_24k.yaml, also PixPro's): 24k iterations at
# batch 16, lr 0.02, LR x0.1 at 18k and 22k, linear warm-up over 100
# iterations from 0.001 x lr, weight decay 1e-4 (detectron2's default, which
# that recipe keeps), none on norm layers. Validation every 4k iterations.
_base_ = './sgd_90k.py'
max_iters = 24000
train_cfg = dict(max_iters=max_iters, val_interval=4000)
param_scheduler = [
    dict(
        type='mmsoco.LinearWarmupLR',
        start_factor=0.001,
        by_epoch=False,
        begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))

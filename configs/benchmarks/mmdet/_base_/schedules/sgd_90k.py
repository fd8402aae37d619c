# detectron2's 1x, the schedule of SoCo's COCO / LVIS numbers: 90k iterations
# at batch 16 (~12 COCO epochs), SGD lr 0.02, momentum 0.9, LR x0.1 at 60k and
# 80k, linear warm-up over the first 1000 iterations from 0.001 x lr (full lr
# at iteration 1000 as detectron2's warm-up, mmsoco.LinearWarmupLR; mmengine's
# LinearLR would reach it at 999); weight
# decay 2.5e-5 (SoCo's recipe; detectron2's default is 1e-4), none on norm
# layers (detectron2's SOLVER.WEIGHT_DECAY_NORM = 0). Validation (with precise
# BN before it) every 30k iterations and at the end.
max_iters = 90000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=30000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='mmsoco.LinearWarmupLR',
        start_factor=0.001,
        by_epoch=False,
        begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[60000, 80000],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=2.5e-5),
    paramwise_cfg=dict(norm_decay_mult=0.))
# lr 0.02 is for 8 GPUs x 2 images; --auto-scale-lr rescales it linearly
auto_scale_lr = dict(enable=False, base_batch_size=16)

# detectron2's 2x: 180k iterations at batch 16, LR x0.1 at 120k and 160k;
# everything else as the 1x (sgd_90k.py). Validation every 60k iterations.
_base_ = './sgd_90k.py'
max_iters = 180000
train_cfg = dict(max_iters=max_iters, val_interval=60000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[120000, 160000],
        gamma=0.1)
]

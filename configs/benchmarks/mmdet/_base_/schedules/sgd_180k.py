# detectron2's 2x: 180k iterations at batch 16, LR x0.1 at 120k and 160k;
# everything else as the 1x (sgd_90k.py). Validation every 60k iterations.
_base_ = './sgd_90k.py'
max_iters = 180000
train_cfg = dict(max_iters=max_iters, val_interval=60000)
warmup, steps = _base_.param_scheduler
param_scheduler = [
    warmup,
    dict(steps, end=max_iters, milestones=[120000, 160000]),
]

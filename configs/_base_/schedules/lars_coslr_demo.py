# The CPU demo's schedule: LARS as in lars_coslr_100e.py, 20 epochs of the
# 240-image demo train split at batch 16 (~300 iterations), 2 warm-up epochs.
# lr = 1.0 * 16 / 256 would barely move in 300 steps; the demo uses lr 1.0 so
# the loss visibly falls within minutes.
_base_ = './lars_coslr_100e.py'

optim_wrapper = dict(optimizer=dict(lr=1.0))
warmup_epochs = 2
max_epochs = 20
param_scheduler = [
    dict(
        type='LinearWarmupLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)

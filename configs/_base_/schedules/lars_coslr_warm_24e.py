# The 24-epoch twin of lars_coslr_warm_12e.py (same warm-up, longer cosine).
_base_ = './lars_coslr_warm_12e.py'

warmup_epochs = 1
max_epochs = 24
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

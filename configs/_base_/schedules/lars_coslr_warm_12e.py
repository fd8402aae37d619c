# The warm-start schedule (docs/method.md section 4.5): the paper's LARS as in
# lars_coslr_100e.py (lr 8.0 for 8 GPUs x 256, trust 0.001, weight decay
# 1e-5, BN and bias parameters excluded), 12 epochs: a 1-epoch linear warm-up
# from lr/100, then cosine to 1e-6, stepped every iteration.
#
# `prefix_lr_mult` scales the learning rate of a model part on top of those
# groups (PrefixLrMultConstructor; mmengine's custom_keys would drop the LARS
# exclusions of the backbone's BN and bias parameters). backbone=1.0: the
# loaded backbone trains at the same rate as the parts that start from random
# weights (the study's `byol_soco` arm, benchmarks/README.md). Change it with
#   --cfg-options optim_wrapper.paramwise_cfg.prefix_lr_mult.backbone=0.1
_base_ = './lars_coslr_100e.py'

optim_wrapper = dict(
    constructor='PrefixLrMultConstructor',
    paramwise_cfg=dict(prefix_lr_mult=dict(backbone=1.0)))

warmup_epochs = 1
max_epochs = 12
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

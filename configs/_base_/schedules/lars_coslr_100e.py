# SoCo's optimisation (docs/method.md section 4): LARS (trust 0.001) over SGD
# momentum 0.9, weight decay 1e-5; BN and bias parameters excluded from both
# decay and LARS scaling; 10-epoch linear warm-up from lr/100, then cosine to
# 1e-6, stepped every iteration. LinearWarmupLR (mmsoco) reaches the full lr
# at the first iteration after the warm-up, as the reference; mmengine's
# LinearLR would reach it one iteration earlier.
#
# lr = 1.0 * total_batch / 256 = 8.0 for the default 8 GPUs x 256 = 2048.
# 16 GPUs x 128 is the same total batch, so the same lr:
#   tools/dist_train.sh CONFIG 16 --cfg-options train_dataloader.batch_size=128
# Any other total batch: pass --auto-scale-lr, which rescales lr by
# total_batch / auto_scale_lr.base_batch_size (2048, the batch lr=8.0 is for).
optim_wrapper = dict(
    type='OptimWrapper',
    # mmengine's constructor, leaving the frozen EMA target out without a
    # warning per tensor (mmsoco/engine/optimizers/online_constructor.py)
    constructor='OnlineNetworkOptimWrapperConstructor',
    optimizer=dict(
        type='LARS',
        lr=8.0,
        momentum=0.9,
        weight_decay=1e-5,
        trust_coefficient=0.001),
    # mmengine copies each custom key's fields into the parameter group;
    # `lars_exclude` is read by LARS. 'downsample.1' is the BN of ResNet's
    # shortcut, whose name has no 'bn' in it.
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0., lars_exclude=True),
            'downsample.1': dict(decay_mult=0., lars_exclude=True),
            'bias': dict(decay_mult=0., lars_exclude=True),
        }))

warmup_epochs = 10
max_epochs = 100
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
auto_scale_lr = dict(enable=False, base_batch_size=2048)

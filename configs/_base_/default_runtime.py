# Runtime defaults shared by every mmsoco config (pretraining and fine-tuning).
# `mmsoco` scope: mmsoco's registries are children of mmdet's, so unprefixed
# mmdet / mmengine names (ResNet, FPN, CocoDataset, RoIAlign, ...) still resolve.
default_scope = 'mmsoco'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stops the run at the first NaN/inf loss, before CheckpointHook can save
    # the bad state. A default hook rather than a custom one: the model bases
    # set `custom_hooks = [...]` and a list in a config replaces, never
    # merges; `default_hooks` is a dict, so this entry survives them. Turn it
    # off with --cfg-options default_hooks.nan_guard=None.
    nan_guard=dict(type='NanGuardHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
# TensorBoard beside the local JSON (event files in <work_dir>/<timestamp>/
# vis_data/), in a config that inherits this one:
# visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                 dict(type='TensorboardVisBackend')])
# From the command line, TensorBoard instead of the local JSON (--cfg-options
# cannot spell a list of dicts; it can rename the one backend):
# --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False

# mmengine's default, written out so it can be set from the command line
# (--cfg-options randomness.seed=0): None draws a seed per run (logged).
randomness = dict(seed=None)

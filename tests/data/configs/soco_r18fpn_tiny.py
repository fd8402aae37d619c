# The demo config cut down to a couple of iterations, for tests of the tools:
# iteration-based, batch 2, no worker processes, a checkpoint every 2 iters.
# data_root and the proposal cache are set by each test via --cfg-options.
_base_ = '../../../configs/soco/soco_r18fpn_demo.py'

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=2)
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
log_processor = dict(by_epoch=False, window_size=1)
# A narrow projector / predictor: the one shrunk SoCo model of the tests
# (converter tests build their checkpoints from it).
model = dict(projector=dict(hid_channels=64), predictor=dict(hid_channels=64))

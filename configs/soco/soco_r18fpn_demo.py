# SoCo on the CPU demo data (`make demo`): ResNet-18 + FPN + narrow 4conv1fc
# with plain BN, views 112 / 112 / 64, proposals computed on the fly, batch
# 16, 300 iterations (about 8 minutes on 2 cores), checkpoint at the end.
_base_ = [
    '../_base_/models/soco_r18fpn.py',
    '../_base_/datasets/soco_demo.py',
    '../_base_/schedules/lars_coslr_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=16, num_workers=2)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
log_processor = dict(window_size=10)
env_cfg = dict(dist_cfg=dict(backend='gloo'))

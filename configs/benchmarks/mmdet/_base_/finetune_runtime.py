# Runtime of every fine-tuning recipe: mmdet's defaults, iteration-based
# checkpoints (every 10k iterations and the last, 3 kept) and logs, and
# precise BN (detectron2's TEST.PRECISE_BN, enabled in all of SoCo's and the
# peers' recipes): before each validation and the final checkpoint, every
# training BN layer gets its population statistics over 200 training batches
# (mmsoco.PreciseBNHook). A NaN / inf loss term stops the run at once, naming
# the iteration and the last checkpoint (mmsoco.NanGuardHook; off:
# --cfg-options default_hooks.nan_guard=None).
_base_ = 'mmdet::_base_/default_runtime.py'
default_hooks = dict(
    nan_guard=dict(type='mmsoco.NanGuardHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=10000,
        max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
custom_hooks = [dict(type='mmsoco.PreciseBNHook', num_iters=200)]

# Mask R-CNN Swin-T-FPN (SyncBN, 4conv1fc box head) 1x on COCO, initialised
# from a SoCo Swin-T (backbone, FPN and 4conv1fc box-head trunk; e.g.
# configs/soco/soco-warm_swin-t-fpn_12e_coco.py), converted by
# tools/model_converters/soco2mmdet.py with --config this file. mmdet's Swin-T
# 1x recipe (mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py): AdamW lr 1e-4, weight
# decay 0.05 (none on norms and position tables), 12 epochs at 2 x 8 images,
# steps at 8 and 11, single-scale 1333x800.
_base_ = [
    './_base_/models/mask-rcnn_swin-t-fpn-4conv1fc-syncbn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
# The converted SoCo weights (load_from initialises every converted part);
# --cfg-options load_from=PATH points to yours.
load_from = 'work_dirs/soco-warm_swin-t-fpn_12e_coco/mmdet.pth'
# A NaN / inf loss stops the run at once (as every mmsoco recipe).
default_hooks = dict(nan_guard=dict(type='mmsoco.NanGuardHook'))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }),
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=0.0001,
        betas=(0.9, 0.999),
        weight_decay=0.05))

# CPU-sized twin of mask-rcnn_r50-fpn_soco_1x_coco.py: Mask R-CNN with the
# ResNet-18 + FPN + 4conv1fc architecture of configs/soco/soco_r18fpn_demo.py
# (plain BN: SyncBN needs a GPU process group), fine-tuned on the embedded
# demo dataset (tools/misc/make_demo_dataset.py, 6 categories). Initialised
# from the converted demo SoCo checkpoint; `make demo` (tools/demo.py) ends by
# printing these two commands with its own paths (N: its last epoch):
#   .venv/bin/python tools/model_converters/soco2mmdet.py \
#       work_dirs/soco_r18fpn_demo/epoch_N.pth \
#       work_dirs/soco_r18fpn_demo/mmdet.pth \
#       --config configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py
#   .venv/bin/python tools/train.py \
#       configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py \
#       --cfg-options load_from=work_dirs/soco_r18fpn_demo/mmdet.pth
_base_ = [
    './_base_/models/mask-rcnn_r18-fpn_arch.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
# The demo categories (mmsoco.datasets.demo.DEMO_CLASSES).
classes = ('striped_ellipse', 'checkered_rectangle', 'dotted_triangle',
           'noisy_star', 'banded_ring', 'hatched_hexagon')
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(num_outs=5),
    rpn_head=dict(
        in_channels={{_base_.neck.out_channels}},
        feat_channels={{_base_.neck.out_channels}}),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels={{_base_.neck.out_channels}}),
        mask_head=dict(
            in_channels={{_base_.neck.out_channels}},
            conv_out_channels={{_base_.neck.out_channels}},
            norm_cfg={{_base_.norm_cfg}},
            num_classes=len(classes))))

data_root = 'data/demo/'
img_scale = (320, 320)
metainfo = dict(classes=classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# 1x recipe at batch 2 on one process: linear LR scaling of 0.02 @ 16.
optim_wrapper = dict(
    optimizer=dict(lr=0.0025, weight_decay=2.5e-5),
    paramwise_cfg=dict(norm_decay_mult=0.))
# A NaN / inf loss stops the run at once (as every mmsoco recipe).
default_hooks = dict(
    logger=dict(interval=5), nan_guard=dict(type='mmsoco.NanGuardHook'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))

# The converted demo SoCo weights; --cfg-options load_from=PATH for yours.
load_from = 'work_dirs/soco_r18fpn_demo/mmdet.pth'

# COCO 2017 instances with detectron2's training-time scale augmentation, the
# input of SoCo's COCO numbers: shorter side drawn from 640, 672, ..., 800
# (ResizeShortestEdge 'choice', INPUT.MIN_SIZE_TRAIN), longer side at most
# 1333, horizontal flip; test at shorter side 800 (longer <= 1333). Images
# decoded and resized with Pillow (bilinear), as detectron2 does. An infinite
# sampler for the iteration-based schedules.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'
backend = 'pillow'
train_scales = [(1333, 640 + 32 * i) for i in range(6)]  # 640 ... 800
train_pipeline = [
    dict(
        type='LoadImageFromFile',
        backend_args={{_base_.backend_args}},
        imdecode_backend=backend),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=train_scales,
        keep_ratio=True,
        backend=backend),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        backend_args={{_base_.backend_args}},
        imdecode_backend=backend),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True, backend=backend),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

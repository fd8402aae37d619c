# LVIS v1 with SoCo's LVIS recipe (detectron2 LVIS_R_50_FPN_1x.yaml): the
# COCO scale augmentation (coco_instance_ms.py: shorter side 640 ... 800,
# test 800, Pillow) and repeat-factor sampling at threshold 1e-3. mmdet's
# ClassBalancedDataset(oversample_thr=1e-3) uses detectron2's per-image
# repeat factor r = max over the image's categories of max(1, sqrt(t / f_c))
# (f_c: fraction of images containing c) but repeats each image ceil(r) times
# in a fixed list, where detectron2's RepeatFactorTrainingSampler draws
# floor(r) or floor(r) + 1 per epoch (r on average): rare images are
# oversampled somewhat more here. Needs the `lvis` API package.
_base_ = 'mmdet::_base_/datasets/lvis_v1_instance.py'
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
    dataset=dict(
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

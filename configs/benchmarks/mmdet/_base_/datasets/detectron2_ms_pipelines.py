# detectron2's multi-scale instance-segmentation input, shared by the COCO
# and LVIS dataset bases (coco_instance_ms.py, lvis_v1_instance_ms.py): shorter
# side drawn from 640, 672, ..., 800 (ResizeShortestEdge 'choice',
# INPUT.MIN_SIZE_TRAIN), longer side at most 1333, horizontal flip; test at
# shorter side 800 (longer <= 1333); decoded and resized with Pillow
# (bilinear), as detectron2 does. Names with the ms_ prefix, so that a dataset
# base inheriting this file and one of mmdet's keeps both without a clash.
ms_backend = 'pillow'
ms_backend_args = None
ms_train_scales = [(1333, 640 + 32 * i) for i in range(6)]  # 640 ... 800
ms_train_pipeline = [
    dict(
        type='LoadImageFromFile',
        backend_args=ms_backend_args,
        imdecode_backend=ms_backend),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=ms_train_scales,
        keep_ratio=True,
        backend=ms_backend),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
ms_test_pipeline = [
    dict(
        type='LoadImageFromFile',
        backend_args=ms_backend_args,
        imdecode_backend=ms_backend),
    dict(
        type='Resize', scale=(1333, 800), keep_ratio=True, backend=ms_backend),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

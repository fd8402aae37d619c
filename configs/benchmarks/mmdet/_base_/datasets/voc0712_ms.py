# VOC07+12 trainval -> VOC2007 test as the peers' detectron2 recipe (MoCo's
# pascal_voc_R_50_C4_24k.yaml): shorter side drawn from 480, 512, ..., 800
# (longer <= 1333), horizontal flip, test at 800; difficult boxes trained on
# (detectron2's VOC loader keeps them; mmsoco.VOCDatasetWithDifficult, where
# mmdet's VOCDataset would ignore them) and ignored in evaluation; scored as
# detectron2's PascalVOCDetectionEvaluator (mmsoco.VOCDetectionAPMetric):
# 11-point VOC2007 AP at IoU 0.5, 0.55, ..., 0.95 -> AP (their mean), AP50,
# AP75, in percent. Images decoded and resized with Pillow, as detectron2.
_base_ = 'mmdet::_base_/datasets/voc0712.py'
backend = 'pillow'
train_scales = [(1333, 480 + 32 * i) for i in range(11)]  # 480 ... 800
train_pipeline = [
    dict(
        type='LoadImageFromFile',
        backend_args={{_base_.backend_args}},
        imdecode_backend=backend),
    dict(type='LoadAnnotations', with_bbox=True),
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
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
voc_train = dict(
    type='mmsoco.VOCDatasetWithDifficult',
    train_on_difficult=True,
    data_root={{_base_.data_root}},
    filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline,
    backend_args={{_base_.backend_args}})
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # the two years' datasets carry different `dataset_type` metainfo
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                voc_train,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/')),
            dict(
                voc_train,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/'))
        ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='mmsoco.VOCDetectionAPMetric')
test_evaluator = val_evaluator

# COCO 2017 instances with detectron2's training-time scale augmentation, the
# input of SoCo's COCO numbers: shorter side drawn from 640, 672, ..., 800
# (ResizeShortestEdge 'choice', INPUT.MIN_SIZE_TRAIN), longer side at most
# 1333, horizontal flip; test at shorter side 800 (longer <= 1333). Images
# decoded and resized with Pillow (bilinear), as detectron2 does. An infinite
# sampler for the iteration-based schedules.
_base_ = [
    'mmdet::_base_/datasets/coco_instance.py', './detectron2_ms_pipelines.py'
]
train_pipeline = {{_base_.ms_train_pipeline}}
test_pipeline = {{_base_.ms_test_pipeline}}
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

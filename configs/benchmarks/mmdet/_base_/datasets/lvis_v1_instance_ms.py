# LVIS v1 with SoCo's LVIS recipe (detectron2 LVIS_R_50_FPN_1x.yaml): the
# COCO scale augmentation (coco_instance_ms.py: shorter side 640 ... 800,
# test 800, Pillow) and repeat-factor sampling at threshold 1e-3. mmdet's
# ClassBalancedDataset(oversample_thr=1e-3) uses detectron2's per-image
# repeat factor r = max over the image's categories of max(1, sqrt(t / f_c))
# (f_c: fraction of images containing c) but repeats each image ceil(r) times
# in a fixed list, where detectron2's RepeatFactorTrainingSampler draws
# floor(r) or floor(r) + 1 per epoch (r on average): rare images are
# oversampled somewhat more here. Needs the `lvis` API package.
_base_ = [
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    './detectron2_ms_pipelines.py'
]
train_pipeline = {{_base_.ms_train_pipeline}}
test_pipeline = {{_base_.ms_test_pipeline}}
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

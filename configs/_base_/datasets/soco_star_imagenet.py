# SoCo* data (docs/method.md section 2): V1 whole 224, V2 RandomResizedCrop 224, V3
# RandomResizedCrop 192, V4 = V2 resized to 112 with V2's boxes; pairs
# (V1, V2), (V1, V3), (V1, V4). V4 gets its own V2/V3-style photometric draw.
_base_ = './soco_fpn_imagenet.py'

views_step = dict(
    type='MultiViewBoxJitter',
    views=[
        dict(kind='whole', size=224),
        dict(kind='crop', size=224, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
        dict(kind='crop', size=192, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
        dict(kind='resize_of', source=1, size=112),
    ],
    view_pairs=[(0, 1), (0, 2), (0, 3)],
    num_boxes=4,
    jitter_views=(0, ),
    jitter_prob=0.5,
    jitter_ratio=0.1,
    flip_prob=0.5,
    cutout_views=())
other_photometric = dict(
    type='ApplyToViews',
    views=[1, 2, 3],
    transforms={{_base_.other_photometric.transforms}})
train_pipeline = [{{_base_.load_step}}, {{_base_.proposal_step}}, views_step,
                  {{_base_.v1_photometric}}, other_photometric,
                  {{_base_.pack_step}}]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

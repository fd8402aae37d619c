# SoCo R50-C4 data (docs/method.md section 2): two views, V1 whole 224 and V2
# RandomResizedCrop 224 with scale (0.6, 1); no box jitter; cutout on V2
# (the C4 recipe uses it); one pair (V1, V2).
_base_ = './soco_fpn_imagenet.py'

views_step = dict(
    type='MultiViewBoxJitter',
    views=[
        dict(kind='whole', size=224),
        dict(kind='crop', size=224, scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
    ],
    view_pairs=[(0, 1)],
    num_boxes=4,
    jitter_views=(),
    flip_prob=0.5,
    cutout_views=(1, ),
    cutout_prob=0.5,
    cutout_area=(0.1, 0.3))
other_photometric = dict(
    type='ApplyToViews',
    views=[1],
    transforms={{_base_.other_photometric.transforms}})
train_pipeline = [{{_base_.load_step}}, {{_base_.proposal_step}}, views_step,
                  {{_base_.v1_photometric}}, other_photometric,
                  {{_base_.pack_step}}]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

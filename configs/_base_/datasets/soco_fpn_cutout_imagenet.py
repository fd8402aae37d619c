# SoCo R50-FPN data with cutout on V2/V3 (the 100-epoch recipe, docs/method.md section 2.3).
_base_ = './soco_fpn_imagenet.py'

views_step = dict(
    type='MultiViewBoxJitter',
    views=[
        dict(kind='whole', size=224),
        dict(kind='crop', size=224, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
        dict(kind='crop', size=112, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
    ],
    view_pairs=[(0, 1), (0, 2)],
    num_boxes=4,
    jitter_views=(0, ),
    jitter_prob=0.5,
    jitter_ratio=0.1,
    flip_prob=0.5,
    cutout_views=(1, 2),
    cutout_prob=0.5,
    cutout_area=(0.1, 0.3))
train_pipeline = [{{_base_.load_step}}, {{_base_.proposal_step}}, views_step,
                  {{_base_.v1_photometric}}, {{_base_.other_photometric}},
                  {{_base_.pack_step}}]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

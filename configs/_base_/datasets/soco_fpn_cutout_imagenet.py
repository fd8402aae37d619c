# SoCo R50-FPN data with cutout on V2/V3 (the 100-epoch recipe, docs/method.md section 2.3).
_base_ = './soco_fpn_imagenet.py'

# The base's views with cutout on V2 and V3, as the reference's 100-epoch
# recipe: per box p = 0.5, a square of 10-30 % of the box's area.
views_step = dict(
    _base_.views_step,
    cutout_views=(1, 2),
    cutout_prob=0.5,
    cutout_area=(0.1, 0.3))
train_pipeline = [{{_base_.load_step}}, {{_base_.proposal_step}}, views_step,
                  {{_base_.v1_photometric}}, {{_base_.other_photometric}},
                  {{_base_.pack_step}}]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

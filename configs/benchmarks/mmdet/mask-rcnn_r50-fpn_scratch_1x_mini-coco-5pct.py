# Mini COCO: the scratch twin of mask-rcnn_r50-fpn_scratch_1x_coco.py trained
# on 5% of train2017 (seeded split written by tools/misc/make_mini_coco.py),
# evaluated on the full val2017. 1x = 12 epochs over the subset.
_base_ = './mask-rcnn_r50-fpn_scratch_1x_coco.py'
train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2017_5pct.json'))

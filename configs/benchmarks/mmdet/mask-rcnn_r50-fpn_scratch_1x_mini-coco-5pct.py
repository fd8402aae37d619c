# Mini COCO: the scratch twin of mask-rcnn_r50-fpn_scratch_1x_coco.py trained
# on 5% of train2017 (seeded split written by tools/misc/make_mini_coco.py),
# evaluated on the full val2017. The recipe is the COCO one unchanged, 1x = 90k
# iterations (detectron2 keeps the schedule when only the training set
# changes); no released config gives the paper's mini-COCO schedule.
_base_ = './mask-rcnn_r50-fpn_scratch_1x_coco.py'
train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2017_5pct.json'))

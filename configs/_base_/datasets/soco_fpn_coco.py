# SoCo R50-FPN data on COCO train2017 + unlabeled2017, images only
# (docs/method.md section 4.4), with a proposal store whose keys are
# relative to data_root.
_base_ = './soco_fpn_imagenet.py'

data_root = 'data/coco/'
# Keys relative to the common parent of the image folders (data_root here),
# given by the dataset: generate the store over data/coco.
proposal_step = dict(
    type='SelectiveSearchProposals',
    store_path='data/proposals/coco_train_unlabeled')
train_pipeline = [{{_base_.load_step}}, proposal_step, {{_base_.views_step}},
                  {{_base_.v1_photometric}}, {{_base_.other_photometric}},
                  {{_base_.pack_step}}]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file=[
            'annotations/instances_train2017.json',
            'annotations/image_info_unlabeled2017.json'
        ],
        data_prefix=dict(img_path=['train2017/', 'unlabeled2017/']),
        pipeline=train_pipeline))

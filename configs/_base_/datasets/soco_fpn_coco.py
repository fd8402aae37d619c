# SoCo R50-FPN data on COCO train2017 + unlabeled2017, images only
# (docs/method.md section 4.4), with a proposal store whose keys are
# relative to data_root.
_base_ = './soco_fpn_imagenet.py'

data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file=[
            'annotations/instances_train2017.json',
            'annotations/image_info_unlabeled2017.json'
        ],
        data_prefix=dict(img_path=['train2017/', 'unlabeled2017/']),
        # Keys relative to the common parent of the image folders (data_root
        # here), given by the dataset: generate the store over data/coco.
        proposal_store='data/proposals/coco_train_unlabeled'))

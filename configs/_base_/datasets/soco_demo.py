# SoCo data for the CPU demo (data/demo from mmsoco.datasets.demo): images
# only, proposals computed on the fly and cached (no store), small views
# 112 / 112 / 64 so a few hundred iterations run in minutes on 2 cores.
_base_ = './soco_fpn_imagenet.py'

data_root = 'data/demo/'
proposal_step = dict(
    type='SelectiveSearchProposals',
    compute_cfg=dict(max_side=320),  # benchmarks/README.md: same recall
    # Beside the images, whatever the working directory and data_root:
    # {img_root} is the image folder (data_root + images/), so the cache is
    # <data_root>/proposal_cache. Entries are keyed by each image's absolute
    # path, size and mtime.
    cache_dir='{img_root}/../proposal_cache')
views_step = dict(
    type='MultiViewBoxJitter',
    views=[
        dict(kind='whole', size=112),
        dict(kind='crop', size=112, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
        dict(kind='crop', size=64, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
    ],
    view_pairs=[(0, 1), (0, 2)],
    num_boxes=4,
    jitter_views=(0, ),
    jitter_prob=0.5,
    jitter_ratio=0.1,
    flip_prob=0.5)
train_pipeline = [{{_base_.load_step}}, proposal_step, views_step,
                  {{_base_.v1_photometric}}, {{_base_.other_photometric}},
                  {{_base_.pack_step}}]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/train_images.txt',
        data_prefix=dict(img_path='images/'),
        proposal_store=None,  # computed on the fly
        pipeline=train_pipeline))

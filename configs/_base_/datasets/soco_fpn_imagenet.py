# SoCo R50-FPN data (docs/method.md section 2) on ImageNet-1K train with the offline
# proposal store (tools/generate_proposals.py). Views: V1 whole image 224,
# V2 RandomResizedCrop 224, V3 RandomResizedCrop 112, scale (0.5, 1); pairs
# (V1, V2), (V1, V3); K = 4 boxes per pair; V1's boxes jittered; no cutout;
# views resized with PIL's antialiased bilinear filter (the reference's).
# The other SoCo data configs inherit this file and rebuild `train_pipeline`
# from the named steps below (a list cannot be patched element by element).
# Paths are overridden on the dataset (README.md, 'Preparing data'):
# train_dataloader.dataset.data_root and .proposal_store.
dataset_type = 'SoCoImageDataset'
data_root = 'data/imagenet/'
img_prefix = 'train/'

# The reference's decoding, PIL convert('RGB') with the EXIF orientation tag
# ignored: the frame of the proposal store (docs/method.md section 1.7).
load_step = dict(type='LoadImageWithPIL')
# The store is the dataset's proposal_store, handed to this step. Its keys are
# image paths relative to the dataset's image folder; the dataset gives each
# sample its key (img_key) from the data_root in force, so overriding
# data_root keeps every lookup working.
proposal_step = dict(type='SelectiveSearchProposals')
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
    cutout_views=(),
    max_draws=5,  # the reference's max_tries
    least_common=None,  # max(num_boxes // 2, 1), as it
    resizer='pil_bilinear')
# BYOL's asymmetric photometric augmentation.
color_steps = [
    dict(
        type='ColorJitter',
        brightness=0.4,
        contrast=0.4,
        saturation=0.2,
        hue=0.1,
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
]
v1_photometric = dict(
    type='ApplyToViews',
    views=[0],
    transforms=color_steps + [
        dict(type='RandomGaussianBlur', prob=1.0, sigma=(0.1, 2.0)),
    ])
other_photometric = dict(
    type='ApplyToViews',
    views=[1, 2],
    transforms=color_steps + [
        dict(type='RandomGaussianBlur', prob=0.1, sigma=(0.1, 2.0)),
        dict(type='RandomSolarize', prob=0.2, threshold=128),
    ])
pack_step = dict(type='PackSoCoInputs')

train_pipeline = [
    load_step, proposal_step, views_step, v1_photometric, other_photometric,
    pack_step
]

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='',  # '' scans the folder; or an ImageNet list file
        data_prefix=dict(img_path=img_prefix),
        # None: proposals computed on the fly (no store).
        proposal_store='data/proposals/imagenet_train',
        on_bad_image='skip',
        pipeline=train_pipeline))

# The model's data_preprocessor (referenced by the SoCo configs): views are
# BGR uint8 from the pipeline; RGB ImageNet mean / std.
data_preprocessor = dict(
    type='SoCoDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)

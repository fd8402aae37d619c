# Mask R-CNN R50-FPN (SyncBN, 4conv1fc box head) 1x (90k iterations) on LVIS
# v1, initialised from SoCo* 400 epochs (configs/soco/soco-star_r50fpn_400e.py,
# the paper's LVIS row: backbone, FPN and 4conv1fc box-head trunk), converted
# by tools/model_converters/soco2mmdet.py (or
# tools/benchmarks/mmdet/dist_finetune.sh, which converts, trains and tests).
_base_ = [
    './_base_/mask-rcnn_r50-fpn-4conv1fc-syncbn_1x_lvis-v1.py',
]
# The converted SoCo weights (load_from initialises every converted part);
# --cfg-options load_from=PATH points to yours.
load_from = 'work_dirs/soco-star_r50fpn_400e/mmdet.pth'

# Faster R-CNN R50-C4 (SyncBN, res5 + extra norm) 24k iterations on VOC07+12,
# initialised from SoCo (backbone (res2-res4) and res5 shared head), converted
# by tools/model_converters/soco2mmdet.py (or
# tools/benchmarks/mmdet/dist_finetune.sh, which converts, trains and tests).
_base_ = [
    './_base_/faster-rcnn_r50-c4-syncbn_24k_voc0712.py',
]
# The converted SoCo weights (load_from initialises every converted part);
# --cfg-options load_from=PATH points to yours.
load_from = 'work_dirs/soco_r50c4_400e/mmdet.pth'

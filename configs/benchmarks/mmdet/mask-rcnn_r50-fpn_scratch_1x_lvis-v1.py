# Mask R-CNN R50-FPN (SyncBN, 4conv1fc box head) 1x (90k iterations) on LVIS
# v1, from scratch (random init), everything else as the SoCo twin. Scratch
# training usually needs a longer schedule to converge (the reference's scratch
# row); override train_cfg / param_scheduler for that.
_base_ = [
    './_base_/mask-rcnn_r50-fpn-4conv1fc-syncbn_1x_lvis-v1.py',
]

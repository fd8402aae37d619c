# Faster R-CNN R50-C4 (SyncBN, res5 + extra norm) 24k iterations on VOC07+12,
# from scratch (random init), everything else as the SoCo twin. Scratch
# training usually needs a longer schedule to converge (the reference's scratch
# row); override train_cfg / param_scheduler for that.
_base_ = [
    './_base_/faster-rcnn_r50-c4-syncbn_24k_voc0712.py',
]

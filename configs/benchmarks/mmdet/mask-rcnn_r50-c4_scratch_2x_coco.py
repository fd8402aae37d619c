# Mask R-CNN R50-C4 (SyncBN, res5 + extra norm) 2x (180k iterations) on COCO,
# from scratch (random init), everything else as the SoCo twin. Scratch
# training usually needs a longer schedule to converge (the reference's scratch
# row); override train_cfg / param_scheduler for that.
_base_ = [
    './_base_/models/mask-rcnn_r50-c4-syncbn.py',
    './_base_/datasets/coco_instance_ms.py',
    './_base_/schedules/sgd_180k.py',
    './_base_/finetune_runtime.py',
]

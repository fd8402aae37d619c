# SoCo R50-FPN started from a backbone checkpoint (docs/method.md section 4.5):
# the paper's model (soco_r50fpn.py) with the ResNet-50 loaded from a local
# file before the EMA target is copied from it; FPN, 4conv1fc head, projector
# and predictor start from random weights exactly as in the paper's recipes.
#
# checkpoint: a torchvision state dict (e.g. resnet50-11ad3fa6.pth), an
#   mmpretrain / MMSelfSup / mmdet checkpoint ("backbone.*" keys) or an mmsoco
#   BYOL / SoCo checkpoint; layout 'auto' tells them apart (or name it:
#   'torchvision', 'mmpretrain', 'mmsoco_online', 'mmsoco_target').
#   --cfg-options model.init_cfg.checkpoint=PATH
# frozen_stages: -1 trains the whole backbone (the default, the study's
#   `byol_soco` arm: ahead of the frozen arm in bbox AP on every paired seed,
#   benchmarks/README.md); 0-4 freeze the stem and that many stages
#   (eval-mode BN, no gradient; the EMA target's copy moves only by the
#   rounding of the EMA update).
_base_ = ['./soco_r50fpn.py']

model = dict(
    init_cfg=dict(
        type='PretrainedBackbone',
        checkpoint='checkpoints/resnet50.pth',
        layout='auto'),
    backbone=dict(frozen_stages=-1))

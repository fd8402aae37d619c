# Mask R-CNN R50-C4 as SoCo's C4 variant fine-tunes it: the architecture of
# step 1 (mask-rcnn_r50-c4_arch.py) with the RoI head of the detectron2 C4
# recipe (MoCo's Res5ROIHeadsExtraNorm, which SoCo's C4 numbers used): res5
# followed by one more SyncBN, mmsoco's ResLayerExtraNorm. res5 keeps its keys
# (roi_head.shared_head.layer4.*), so converted SoCo weights land unchanged;
# only roi_head.shared_head.norm.* is new.
_base_ = './mask-rcnn_r50-c4_arch.py'
model = dict(roi_head=dict(shared_head=dict(type='mmsoco.ResLayerExtraNorm')))

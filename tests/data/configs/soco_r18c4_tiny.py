# SoCo's C4 variant (configs/_base_/models/soco_r50c4.py) at ResNet-18 depth:
# res2-res4 backbone (C4, stride 16), res5 as the shared head; shrunk alike.
_base_ = '../../../configs/_base_/models/soco_r50c4.py'

model = dict(
    backbone=dict(depth=18),
    shared_head=dict(depth=18),
    roi_extractor=dict(out_channels=256),
    projector=dict(in_channels=512, hid_channels=64),
    predictor=dict(hid_channels=64))

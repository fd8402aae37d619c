# The BYOL twin of soco_r18fpn_tiny.py's model (same ResNet-18), shrunk alike.
_base_ = '../../../configs/_base_/models/byol_r18.py'

model = dict(projector=dict(hid_channels=64), predictor=dict(hid_channels=64))

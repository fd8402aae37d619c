# soco_r50c4_100e.py with head_batching='mixed_levels'. For C4 this is the SAME
# computation as the reference batching (one feature level and one view
# pair, so each view has one box set and one head batch either way; a test
# checks it in training mode); it exists so that every recipe has a _fast twin.
_base_ = './soco_r50c4_100e.py'

model = dict(head_batching='mixed_levels')

# soco-star_r50fpn_400e.py with the fast head batching (docs/reference_parity.md, "BN batches
# of head, projector, predictor"): one head batch per view, each box RoIAligned
# on its own FPN level only, V1's box sets together. The same RoI features as
# the reference's batching, but different BN batches (so different
# training-mode statistics and gradients); about a quarter of the head work.
# Not validated at ImageNet scale: the recipe without _fast is the reference.
_base_ = './soco-star_r50fpn_400e.py'

model = dict(head_batching='mixed_levels')

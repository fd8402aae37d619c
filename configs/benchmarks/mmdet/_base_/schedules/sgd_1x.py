# mmdet's 1x (12 epochs, LR steps at 8 and 11) with the SoCo fine-tuning
# recipe's weight decay 2.5e-5 (SOCO_SPEC section 5); no decay on norm
# layers, as detectron2's default SOLVER.WEIGHT_DECAY_NORM = 0.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'
optim_wrapper = dict(
    optimizer=dict(weight_decay=2.5e-5),
    paramwise_cfg=dict(norm_decay_mult=0.))

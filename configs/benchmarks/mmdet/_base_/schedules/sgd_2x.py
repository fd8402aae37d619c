# mmdet's 2x (24 epochs, LR steps at 16 and 22) with the SoCo fine-tuning
# recipe's weight decay 2.5e-5; see sgd_1x.py.
_base_ = 'mmdet::_base_/schedules/schedule_2x.py'
optim_wrapper = dict(
    optimizer=dict(weight_decay=2.5e-5),
    paramwise_cfg=dict(norm_decay_mult=0.))

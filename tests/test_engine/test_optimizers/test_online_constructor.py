"""OnlineNetworkOptimWrapperConstructor: the optimiser gets exactly the
online network's parameters; the EMA target is left out with one info line
instead of a "requires_grad=False" warning per tensor, while a frozen online
parameter is still warned about."""
import io
import logging
import os.path as osp

import pytest
from mmengine.logging import MMLogger

from mmsoco.utils.launch import build_runner, load_launch_config

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'soco_r18fpn_tiny.py')
SKIPPED = 'is skipped since its requires_grad=False'


def _optim_wrapper_and_log(tmp_path, freeze=None):
    """Build the tiny demo config's runner and its optimizer the way
    ``runner.train()`` does, capturing what the run's logger prints."""
    cfg = load_launch_config(CONFIG, work_dir=str(tmp_path))
    runner = build_runner(cfg)
    model = runner.model
    if freeze is not None:
        model.get_parameter(freeze).requires_grad_(False)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    finally:
        logger.removeHandler(handler)
    return model, optim_wrapper, stream.getvalue()


def _optimised(optim_wrapper):
    return {
        id(p)
        for group in optim_wrapper.optimizer.param_groups
        for p in group['params']
    }


def test_the_target_is_left_out_without_a_warning_per_tensor(tmp_path):
    model, optim_wrapper, log = _optim_wrapper_and_log(tmp_path)
    target = list(model.target.parameters())
    online = [
        p for name, p in model.named_parameters()
        if not name.startswith('target.')
    ]
    assert len(target) > 100 and online
    # exactly the online parameters, each once
    assert _optimised(optim_wrapper) == {id(p) for p in online}
    assert sum(len(g['params'])
               for g in optim_wrapper.optimizer.param_groups) == len(online)
    assert SKIPPED not in log
    assert (f'the EMA target (target.*: {len(target)} parameter tensors) is '
            'left out') in log


def test_a_frozen_online_parameter_is_still_reported(tmp_path):
    _, optim_wrapper, log = _optim_wrapper_and_log(
        tmp_path, freeze='backbone.conv1.weight')
    assert f'backbone.conv1.weight {SKIPPED}' in log
    assert log.count(SKIPPED) == 1


def test_a_target_parameter_that_trains_is_refused(tmp_path):
    runner = build_runner(load_launch_config(CONFIG, work_dir=str(tmp_path)))
    runner.model.get_parameter('target.backbone.conv1.weight').requires_grad_(
        True)
    with pytest.raises(ValueError, match='EMA target must be frozen'):
        runner.build_optim_wrapper(runner.optim_wrapper)

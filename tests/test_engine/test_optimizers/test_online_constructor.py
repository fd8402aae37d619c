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
    """Named in one warning line, not optimised."""
    model, optim_wrapper, log = _optim_wrapper_and_log(
        tmp_path, freeze='backbone.conv1.weight')
    assert SKIPPED not in log
    assert ('1 frozen online parameter tensor(s) are not optimised '
            "(requires_grad=False, e.g. the backbone's frozen_stages): "
            'backbone.conv1.weight\n') in log
    assert id(model.get_parameter('backbone.conv1.weight')) \
        not in _optimised(optim_wrapper)


def test_a_target_parameter_that_trains_is_refused(tmp_path):
    runner = build_runner(load_launch_config(CONFIG, work_dir=str(tmp_path)))
    runner.model.get_parameter('target.backbone.conv1.weight').requires_grad_(
        True)
    with pytest.raises(ValueError, match='EMA target must be frozen'):
        runner.build_optim_wrapper(runner.optim_wrapper)


def test_frozen_stages_are_summarised_in_one_line(tmp_path):
    """A warm start's frozen backbone: one line with the count and the first
    names, not a warning per tensor."""
    cfg = load_launch_config(CONFIG, work_dir=str(tmp_path))
    cfg.model.backbone.frozen_stages = 4
    runner = build_runner(cfg)
    frozen = [
        name for name, p in runner.model.named_parameters()
        if name.startswith('backbone.') and not p.requires_grad
    ]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        runner.build_optim_wrapper(runner.optim_wrapper)
    finally:
        logger.removeHandler(handler)
    log = stream.getvalue()
    assert len(frozen) > 20  # stem + 4 stages of a ResNet-18
    assert SKIPPED not in log
    summary = [line for line in log.splitlines() if 'frozen online' in line]
    assert summary == [
        f'optimizer: {len(frozen)} frozen online parameter tensor(s) are not '
        "optimised (requires_grad=False, e.g. the backbone's frozen_stages): "
        + ', '.join(frozen[:5]) + f' and {len(frozen) - 5} more'
    ]

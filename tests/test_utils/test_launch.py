"""setup_cpu_distributed: the CPU wrapper chosen, found under any scope."""
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS, DefaultScope

from mmsoco.models.wrappers import CPUDistributedDataParallel
from mmsoco.utils.launch import setup_cpu_distributed


@pytest.fixture
def no_cuda_group_ready(monkeypatch):
    """A CPU machine under torchrun; the process group start is recorded."""
    started = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(dist, 'init_process_group',
                        lambda **kwargs: started.append(kwargs))
    return started


def _cfg(**kwargs):
    return Config(dict(launcher='pytorch', **kwargs))


@pytest.mark.parametrize('scope', ['mmsoco', 'mmdet'])
def test_cpu_wrapper_is_found_by_the_runner_lookup(no_cuda_group_ready, scope):
    cfg = _cfg()
    assert setup_cpu_distributed(cfg)
    assert no_cuda_group_ready == [dict(backend='gloo')]
    wrapper = cfg.model_wrapper_cfg
    assert wrapper.device_ids is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # mmengine's Runner.wrap_model: MODEL_WRAPPERS.get(type) on the root
    # registry, under the config's default scope (mmdet for fine-tuning).
    with DefaultScope.overwrite_default_scope(scope):
        assert MODEL_WRAPPERS.get(wrapper.type) is CPUDistributedDataParallel


def test_config_wrapper_options_kept(no_cuda_group_ready):
    cfg = _cfg(
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', find_unused_parameters=True))
    setup_cpu_distributed(cfg)
    assert MODEL_WRAPPERS.get(
        cfg.model_wrapper_cfg.type) is CPUDistributedDataParallel
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.broadcast_buffers is False


def test_other_wrapper_type_kept(no_cuda_group_ready):
    cfg = _cfg(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel'))
    setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.type == 'MMFullyShardedDataParallel'


def test_nothing_changes_with_cuda_or_without_launcher(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg()
    assert not setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='none'))
    assert not setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg

"""CPUDistributedDataParallel: SyncBN reverted to BN, counted, before DDP."""
import socket
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from mmdet.models.backbones import ResNet

from mmsoco.models.wrappers import (CPUDistributedDataParallel,
                                    revert_sync_batchnorm_counted)


@pytest.fixture
def gloo_group():
    """A one-process gloo group, torn down afterwards."""
    assert not dist.is_initialized()
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def _resnet18(norm):
    return ResNet(depth=18, norm_cfg=dict(type=norm, requires_grad=True))


def _count(module, types):
    return sum(isinstance(m, types) for m in module.modules())


def test_revert_counts_and_keeps_the_parameters():
    model = _resnet18('SyncBN')
    weight = model.bn1.weight
    reverted, count = revert_sync_batchnorm_counted(model)
    # Stem 1 + 8 basic blocks x 2 + 3 downsample layers.
    assert count == 20
    assert _count(reverted, nn.SyncBatchNorm) == 0
    assert _count(reverted, nn.modules.batchnorm._BatchNorm) == 20
    assert reverted.bn1.weight is weight  # the same trained values


def test_revert_leaves_a_bn_model_alone():
    model = _resnet18('BN')
    reverted, count = revert_sync_batchnorm_counted(model)
    assert count == 0 and reverted is model


def test_ddp_on_cpu_refuses_syncbn_without_the_revert(gloo_group):
    """The failure the wrapper exists for (a check on the premise)."""
    from mmengine.model import MMDistributedDataParallel
    with pytest.raises(ValueError, match='SyncBatchNorm'):
        MMDistributedDataParallel(module=_resnet18('SyncBN'), device_ids=None)


def test_wrapper_reverts_with_one_warning_and_trains(gloo_group):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        # device_ids as mmengine's Runner passes them: replaced by None.
        ddp = CPUDistributedDataParallel(
            module=_resnet18('SyncBN'), device_ids=[0])
    messages = [
        str(w.message) for w in caught if 'SyncBatchNorm' in str(w.message)
    ]
    assert len(messages) == 1, messages
    assert 'reverted 20 SyncBatchNorm layers to BatchNorm' in messages[0]
    assert _count(ddp, nn.SyncBatchNorm) == 0
    ddp.train()
    out = ddp(torch.randn(2, 3, 64, 64))
    sum(o.mean() for o in out).backward()
    assert ddp.module.conv1.weight.grad is not None


def test_wrapper_is_quiet_for_a_bn_model(gloo_group):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        CPUDistributedDataParallel(module=_resnet18('BN'))
    assert not [w for w in caught if 'SyncBatchNorm' in str(w.message)]

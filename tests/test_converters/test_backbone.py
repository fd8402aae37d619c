"""Backbone export and the mmdet -> torchvision ResNet key map."""
import os.path as osp

import pytest
import torch

from mmsoco.converters import (ConversionError, extract_backbone,
                               torchvision_key)
from soco_checkpoint import soco_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def torchvision_resnet_keys(blocks, bottleneck):
    """torchvision.models.resnet's state_dict keys without ``fc``, written
    from its definition: ``conv1``/``bn1`` stem, ``layer1..4`` of blocks
    with ``conv{1,2(,3)}``/``bn{1,2(,3)}`` and, in the first block of a stage
    that changes shape, ``downsample.0`` (conv) / ``downsample.1`` (BN)."""
    keys = ['conv1.weight'] + [f'bn1.{p}' for p in _BN]
    convs = (1, 2, 3) if bottleneck else (1, 2)
    for stage, num in enumerate(blocks, start=1):
        for i in range(num):
            for c in convs:
                keys.append(f'layer{stage}.{i}.conv{c}.weight')
                keys += [f'layer{stage}.{i}.bn{c}.{p}' for p in _BN]
            if i == 0 and (bottleneck or stage > 1):
                keys.append(f'layer{stage}.{i}.downsample.0.weight')
                keys += [f'layer{stage}.{i}.downsample.1.{p}' for p in _BN]
    return keys


# Literal rows of torchvision's ResNet-50 state dict (torchvision 0.x,
# models/resnet.py), mmdet ResNet key -> torchvision key.
TORCHVISION_TABLE = [
    ('conv1.weight', 'conv1.weight'),
    ('bn1.running_mean', 'bn1.running_mean'),
    ('layer1.0.conv1.weight', 'layer1.0.conv1.weight'),
    ('layer1.0.bn3.bias', 'layer1.0.bn3.bias'),
    ('layer1.0.downsample.0.weight', 'layer1.0.downsample.0.weight'),
    ('layer1.0.downsample.1.running_var', 'layer1.0.downsample.1.running_var'),
    ('layer3.5.conv2.weight', 'layer3.5.conv2.weight'),
    ('layer4.2.bn3.weight', 'layer4.2.bn3.weight'),
]


def test_torchvision_table():
    for mmdet_key, tv_key in TORCHVISION_TABLE:
        assert torchvision_key(mmdet_key) == tv_key


@pytest.mark.parametrize('depth,blocks,bottleneck',
                         [(50, (3, 4, 6, 3), True), (18, (2, 2, 2, 2), False)])
def test_mmdet_resnet_keys_are_torchvision_keys(depth, blocks, bottleneck):
    from mmdet.models.backbones import ResNet
    mmdet_keys = list(ResNet(depth=depth).state_dict())
    mapped = [torchvision_key(k) for k in mmdet_keys]
    assert sorted(mapped) == sorted(
        torchvision_resnet_keys(blocks, bottleneck))


def test_deep_stem_has_no_torchvision_name():
    from mmdet.models.backbones import ResNet
    keys = list(ResNet(depth=18, deep_stem=True).state_dict())
    with pytest.raises(ConversionError, match=r'"stem\.0\.weight"'):
        [torchvision_key(k) for k in keys]


def test_extract_fpn_backbone_online_and_target():
    sd = soco_state_dict('fpn')
    for net, prefix in (('online', 'backbone.'), ('target',
                                                  'target.backbone.')):
        backbone, counts = extract_backbone(sd, net=net, torchvision=True)
        expected = {
            k[len(prefix):]: v
            for k, v in sd.items() if k.startswith(prefix)
        }
        assert set(backbone) == set(expected)
        assert all(torch.equal(backbone[k], v) for k, v in expected.items())
        assert counts[f'kept {prefix[:-1]}'] == len(expected)
    assert counts['dropped neck'] == sum(k.startswith('neck.') for k in sd)


def test_extract_c4_puts_res5_back_as_layer4():
    sd = soco_state_dict('c4')
    backbone, _ = extract_backbone(sd, torchvision=True)
    assert sorted(backbone) == sorted(
        torchvision_resnet_keys((2, 2, 2, 2), False))
    assert torch.equal(backbone['layer4.1.conv2.weight'],
                       sd['shared_head.layer4.1.conv2.weight'])


def test_extract_byol_backbone():
    sd = soco_state_dict('byol')
    backbone, _ = extract_backbone(sd)
    assert torch.equal(backbone['conv1.weight'], sd['backbone.conv1.weight'])


def test_extract_without_backbone_fails():
    with pytest.raises(ConversionError, match=r'"backbone\.\*"'):
        extract_backbone({'projector.0.weight': torch.zeros(2, 2)})

"""SoCo -> mmdet key map (mmsoco.converters.soco_to_mmdet) and shape checks."""
import os.path as osp

import pytest
import torch

from mmsoco.converters import (ConversionError, check_against_destination,
                               detect_arch, soco_to_mmdet)
from soco_checkpoint import soco_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def fpn_sd():
    return soco_state_dict('fpn')


@pytest.fixture(scope='module')
def c4_sd():
    return soco_state_dict('c4')


# The layout contract, written out: SoCo prefix -> mmdet prefix.
FPN_TABLE = {
    'backbone.': 'backbone.',
    'neck.': 'neck.',
    'bbox_head.': 'roi_head.bbox_head.'
}
C4_TABLE = {'backbone.': 'backbone.', 'shared_head.': 'roi_head.shared_head.'}


def _expected(state_dict, table, net_prefix=''):
    out = {}
    for key, value in state_dict.items():
        for src, dst in table.items():
            if key.startswith(net_prefix + src):
                out[dst + key[len(net_prefix + src):]] = value
    return out


@pytest.mark.parametrize('net,net_prefix', [('online', ''),
                                            ('target', 'target.')])
def test_fpn_conversion_is_a_prefix_change(fpn_sd, net, net_prefix):
    converted, report = soco_to_mmdet(fpn_sd, net=net)
    expected = _expected(fpn_sd, FPN_TABLE, net_prefix)
    assert set(converted) == set(expected)
    for key, value in expected.items():
        assert torch.equal(converted[key], value), key
    # some literal keys of mmdet's Shared4Conv1FCBBoxHead / FPN / ResNet
    for key in ('roi_head.bbox_head.shared_convs.3.conv.weight',
                'roi_head.bbox_head.shared_convs.0.bn.running_var',
                'roi_head.bbox_head.shared_fcs.0.bias',
                'neck.lateral_convs.0.conv.weight', 'neck.fpn_convs.3.bn.bias',
                'backbone.conv1.weight', 'backbone.layer4.1.bn2.weight'):
        assert key in converted
    n_proj = sum(k.startswith('projector.') for k in fpn_sd)
    n_pred = sum(k.startswith('predictor.') for k in fpn_sd)
    n_target = sum(k.startswith('target.') for k in fpn_sd)
    assert len(report.mapped) == len(expected)
    assert not report.unexpected
    if net == 'online':
        assert report.dropped == {
            'projector': n_proj,
            'predictor': n_pred,
            'target': n_target
        }
    else:
        n_online = len(fpn_sd) - n_target
        n_tproj = sum(k.startswith('target.projector.') for k in fpn_sd)
        # target.steps: the EMA schedule's position, no weight
        assert report.dropped == {
            'projector': n_tproj,
            'online': n_online,
            'steps': 1
        }
    text = report.format()
    assert f'mapped: {len(expected)} keys' in text
    assert 'roi_head.bbox_head' in text


def test_online_and_target_differ(fpn_sd):
    online, _ = soco_to_mmdet(fpn_sd, net='online')
    target, _ = soco_to_mmdet(fpn_sd, net='target')
    key = 'backbone.conv1.weight'
    assert torch.equal(online[key], fpn_sd['backbone.conv1.weight'])
    assert torch.equal(target[key], fpn_sd['target.backbone.conv1.weight'])
    assert not torch.equal(online[key], target[key])


def test_c4_conversion(c4_sd):
    assert detect_arch(c4_sd) == 'c4'
    converted, report = soco_to_mmdet(c4_sd)
    expected = _expected(c4_sd, C4_TABLE)
    assert set(converted) == set(expected)
    assert torch.equal(converted['roi_head.shared_head.layer4.0.conv1.weight'],
                       c4_sd['shared_head.layer4.0.conv1.weight'])
    assert not any(
        k.startswith(('neck.', 'roi_head.bbox_head.')) for k in converted)


def test_detect_arch_and_byol_is_refused():
    byol = soco_state_dict('byol')
    with pytest.raises(ConversionError, match='neck'):
        detect_arch(byol)
    with pytest.raises(ConversionError, match=r'"neck\.\*"'):
        soco_to_mmdet(byol, arch='fpn')


def test_missing_part_named(fpn_sd):
    no_head = {
        k: v
        for k, v in fpn_sd.items() if not k.startswith('bbox_head.')
    }
    with pytest.raises(ConversionError, match=r'"bbox_head\.\*"'):
        soco_to_mmdet(no_head)
    no_target = {
        k: v
        for k, v in fpn_sd.items() if not k.startswith('target.')
    }
    with pytest.raises(ConversionError, match=r'"target\.\*"'):
        soco_to_mmdet(no_target, net='target')
    with pytest.raises(ConversionError, match=r'"target\.backbone\.\*"'):
        soco_to_mmdet(no_target_backbone(fpn_sd), net='target', arch='fpn')


def no_target_backbone(sd):
    return {
        k: v
        for k, v in sd.items() if not k.startswith('target.backbone.')
    }


def test_unexpected_keys_are_reported_not_converted(fpn_sd):
    sd = dict(fpn_sd)
    sd['data_preprocessor.mean'] = torch.zeros(3)
    converted, report = soco_to_mmdet(sd)
    assert report.unexpected == ['data_preprocessor.mean']
    assert 'data_preprocessor.mean' in report.format()
    assert not any('data_preprocessor' in k for k in converted)


def test_bad_arguments(fpn_sd):
    with pytest.raises(ConversionError, match='net'):
        soco_to_mmdet(fpn_sd, net='ema')
    with pytest.raises(ConversionError, match='arch'):
        soco_to_mmdet(fpn_sd, arch='c5')


def test_check_against_destination_names_keys():
    dest = {
        'backbone.conv1.weight': torch.Size([64, 3, 7, 7]),
        'neck.fpn_convs.0.conv.weight': torch.Size([64, 64, 3, 3])
    }
    ok = {
        'backbone.conv1.weight': torch.zeros(64, 3, 7, 7),
        'neck.fpn_convs.0.conv.weight': torch.zeros(64, 64, 3, 3),
        'roi_head.bbox_head.extra': torch.zeros(1)
    }
    assert check_against_destination(ok, dest) == ['roi_head.bbox_head.extra']
    wrong = dict(ok, **{'backbone.conv1.weight': torch.zeros(32, 3, 7, 7)})
    with pytest.raises(
            ConversionError,
            match=r'backbone\.conv1\.weight: checkpoint \(32'):
        check_against_destination(wrong, dest)
    missing = {'backbone.conv1.weight': torch.zeros(64, 3, 7, 7)}
    with pytest.raises(ConversionError, match=r'neck\.fpn_convs\.0\.conv'):
        check_against_destination(missing, dest)

"""The warm-start key maps and their check, on hand-written state dicts: each
layout's keys land where a SoCo / BYOL model keeps its backbone, and every
wrong input is refused with the keys named."""
import pytest
import torch

from mmsoco.converters.warm_start import (WarmStartError, backbone_weights,
                                          check_warm_start, detect_layout,
                                          model_destination, place_in_model,
                                          unwrap_state_dict)

T = torch.zeros(2)
#: A two-block "ResNet" under torchvision's names.
TV = {
    'conv1.weight': T,
    'bn1.running_mean': T,
    'layer1.0.conv1.weight': T,
    'layer4.0.bn2.num_batches_tracked': torch.tensor(1),
}


def _weight(key):
    """A tensor of the model's shape for ``key`` (below)."""
    return torch.zeros(()) if 'num_batches' in key else T


def test_layouts_are_detected():
    soco = {'backbone.conv1.weight': T, 'target.backbone.conv1.weight': T}
    assert detect_layout(soco, 'x') == 'mmsoco_online'
    pretrain = {'backbone.conv1.weight': T, 'neck.fc.weight': T}
    assert detect_layout(pretrain, 'x') == 'mmpretrain'
    assert detect_layout(dict(TV, **{'fc.weight': T}), 'x') == 'torchvision'
    with pytest.raises(WarmStartError, match=r'encoder\.w.*layout'):
        detect_layout({'encoder.w': T}, 'x')


def test_each_layout_gives_the_backbone_under_its_own_names():
    names = sorted(TV)
    weights, layout, dropped = backbone_weights(
        dict(TV, **{
            'fc.weight': T,
            'fc.bias': T
        }), 'auto', 'x')
    assert (sorted(weights), layout) == (names, 'torchvision')
    assert dropped == {'fc (classifier)': 2}
    pretrain = {'backbone.' + k: T for k in TV}
    pretrain.update({
        'neck.l.weight': T,
        'head.p.weight': T,
        'data_preprocessor.mean': T
    })
    weights, layout, dropped = backbone_weights(pretrain, 'auto', 'x')
    assert (sorted(weights), layout) == (names, 'mmpretrain')
    assert dropped == {'neck': 1, 'head': 1, 'data_preprocessor': 1}
    # mmsoco C4: res5 lives in shared_head.layer4 and comes back as layer4
    online, target = torch.ones(2), 2 * torch.ones(2)
    soco = {}
    for net, value in (('', online), ('target.', target)):
        for key in TV:
            part = 'shared_head.' if key.startswith('layer4.') else 'backbone.'
            soco[net + part + key] = value
        soco[net + 'projector.linear1.weight'] = value
    soco['predictor.linear1.weight'] = online
    soco['target.steps'] = torch.tensor(3)
    for layout, value in (('mmsoco_online', online), ('mmsoco_target',
                                                      target)):
        weights, got, _ = backbone_weights(soco, layout, 'x')
        assert (sorted(weights), got) == (names, layout)
        assert all(torch.equal(w, value) for w in weights.values())
    assert backbone_weights(soco, 'auto', 'x')[1] == 'mmsoco_online'


@pytest.mark.parametrize('state_dict,layout,words', [
    ({
        'backbone.conv1.weight': T
    }, 'torchvision', 'mmpretrain'),
    (TV, 'mmpretrain', 'torchvision'),
    ({
        'backbone.conv1.weight': T
    }, 'mmsoco_online', 'no "target'),
    ({
        'target.neck.w': T,
        'neck.w': T
    }, 'mmsoco_target', 'no "target.backbone'),
    ({
        'encoder.w': T
    }, 'torchvision', 'no torchvision ResNet keys'),
    (TV, 'caffe', 'layout must be one of'),
])
def test_a_layout_that_does_not_fit_is_refused(state_dict, layout, words):
    with pytest.raises(WarmStartError, match=words):
        backbone_weights(state_dict, layout, 'ckpt.pth')


def test_unwrap_takes_state_dict_or_a_bare_one():
    assert unwrap_state_dict({'state_dict': TV, 'meta': {}}, 'x') is TV
    assert unwrap_state_dict(TV, 'x') is TV
    for bad in ({}, {'model': {'a': T}}, [T], {'state_dict': {'a': 1}}):
        with pytest.raises(WarmStartError, match='ckpt.pth holds no state'):
            unwrap_state_dict(bad, 'ckpt.pth')


MODEL = {
    # online FPN-style backbone, its target copy, and other parts
    'backbone.conv1.weight': (2, ),
    'backbone.bn1.running_mean': (2, ),
    'backbone.layer1.0.conv1.weight': (2, ),
    'backbone.layer4.0.bn2.num_batches_tracked': (),
    'neck.l.weight': (2, ),
    'target.backbone.conv1.weight': (2, ),
}
C4 = {
    'backbone.conv1.weight': (2, ),
    'backbone.bn1.running_mean': (2, ),
    'backbone.layer1.0.conv1.weight': (2, ),
    'shared_head.layer4.0.bn2.num_batches_tracked': (),
    'target.shared_head.layer4.0.bn2.num_batches_tracked': (),
}


def test_weights_land_in_the_backbone_or_the_c4_res5():
    weights = {k: _weight(k) for k in TV}
    for model in (MODEL, C4):
        destination = model_destination({
            k: torch.Size(v)
            for k, v in model.items()
        })
        assert sorted(destination) == sorted(
            k for k in model if k.startswith(('backbone.', 'shared_head.')))
        placed, report = place_in_model(weights, destination, 'torchvision')
        assert sorted(placed) == sorted(destination)
        assert report.missing == report.unexpected == report.mismatched == []
        check_warm_start(report, True, 'x')
    assert dict(report.loaded) == {'backbone': 3, 'shared_head': 1}


def _report(weights, model=MODEL):
    destination = model_destination({
        k: torch.Size(v)
        for k, v in model.items()
    })
    return place_in_model(weights, destination, 'torchvision')[1]


def test_missing_unexpected_and_mismatched_keys_are_named():
    weights = {k: _weight(k) for k in TV if k != 'conv1.weight'}
    weights['layer1.1.conv1.weight'] = T  # e.g. a deeper ResNet
    weights['layer1.0.conv1.weight'] = torch.zeros(3)
    report = _report(weights)
    assert report.missing == [
        'backbone.conv1.weight', 'backbone.layer1.0.conv1.weight'
    ]
    assert report.unexpected == ['layer1.1.conv1.weight']
    assert report.mismatched == [
        'backbone.layer1.0.conv1.weight: checkpoint (3,) vs model (2,)'
    ]
    with pytest.raises(WarmStartError) as err:
        check_warm_start(report, False, 'ckpt.pth')
    for words in ('ckpt.pth', 'layer1.0.conv1.weight: checkpoint (3,)',
                  'layer1.1.conv1.weight', 'strict=False'):
        assert words in str(err.value)
    text = report.format()
    assert 'missing' in text and 'backbone.conv1.weight' in text


def test_strict_refuses_missing_or_unexpected_non_strict_only_nothing():
    # a source for every tensor but num_batches_tracked (old files lack it)
    partial = {k: T for k in TV if 'num_batches' not in k}
    check_warm_start(_report(partial), True, 'x')
    no_stem = {k: v for k, v in partial.items() if k != 'conv1.weight'}
    with pytest.raises(
            WarmStartError,
            match='1 backbone tensors of the '
            'model have no source.*backbone.conv1.weight'):
        check_warm_start(_report(no_stem), True, 'x')
    check_warm_start(_report(no_stem), False, 'x')  # partial: allowed
    deeper = dict(partial, **{'layer2.0.conv1.weight': T})
    with pytest.raises(
            WarmStartError,
            match='1 checkpoint tensors have no '
            'place.*layer2.0.conv1.weight'):
        check_warm_start(_report(deeper), True, 'x')
    check_warm_start(_report(deeper), False, 'x')
    with pytest.raises(WarmStartError, match='no tensor of the checkpoint'):
        check_warm_start(_report({'stem.0.weight': T}), False, 'x')


class _RunsCode:
    """Unpickling this would call os.mkdir(<marker>)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.mkdir, (self.marker, ))


def test_files_are_read_as_the_converters_read_them(tmp_path):
    """One reader (``mmsoco.converters.io.read_checkpoint_file``): a file
    that would run code, a detectron2 pickle and a text file are refused as
    WarmStartError naming the file; a bare state dict is read."""
    import pickle

    import numpy as np

    from mmsoco.converters.warm_start import load_backbone_checkpoint
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': TV, 'x': _RunsCode(str(tmp_path / 'ran'))}, evil)
    with pytest.raises(WarmStartError, match='weights-only allow-list'):
        load_backbone_checkpoint(str(evil))
    assert not (tmp_path / 'ran').exists()
    d2 = tmp_path / 'model_final.pkl'
    d2.write_bytes(
        pickle.dumps(
            dict(model={'backbone.bottom_up.stem.conv1.weight': np.zeros(2)}),
            protocol=4))
    with pytest.raises(WarmStartError, match='is a detectron2 weight file'):
        load_backbone_checkpoint(str(d2))
    text = tmp_path / 'x.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(WarmStartError, match='not a readable torch'):
        load_backbone_checkpoint(str(text))
    torch.save(TV, tmp_path / 'tv.pth')
    assert load_backbone_checkpoint(str(tmp_path / 'tv.pth')).keys() == \
        TV.keys()

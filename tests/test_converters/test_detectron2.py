"""mmdet -> detectron2 names, checked against tables written from
detectron2's modules (facebookresearch/detectron2: modeling/backbone/resnet.py
``BasicStem.conv1``, ``res{2..5}`` stages of blocks with ``conv1..3`` and
``shortcut``, each a ``Conv2d`` holding ``.norm``; modeling/backbone/fpn.py
``fpn_lateral{stage}`` / ``fpn_output{stage}`` with stage = log2(stride) and
the ResNet under ``bottom_up``; roi_heads/box_head.py ``FastRCNNConvFCHead``
``conv{k+1}`` / ``fc{k+1}``; roi_heads/roi_heads.py ``Res5ROIHeads.res5``)."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from mmsoco.converters import (ConversionError, detectron2_checkpoint,
                               detectron2_key, load_detectron2_pickle,
                               mmdet_to_detectron2, save_pickle_atomic)

FPN_TABLE = [
    ('backbone.conv1.weight', 'backbone.bottom_up.stem.conv1.weight'),
    ('backbone.bn1.weight', 'backbone.bottom_up.stem.conv1.norm.weight'),
    ('backbone.bn1.running_var',
     'backbone.bottom_up.stem.conv1.norm.running_var'),
    ('backbone.layer1.0.conv1.weight',
     'backbone.bottom_up.res2.0.conv1.weight'),
    ('backbone.layer1.0.bn1.bias',
     'backbone.bottom_up.res2.0.conv1.norm.bias'),
    ('backbone.layer1.0.downsample.0.weight',
     'backbone.bottom_up.res2.0.shortcut.weight'),
    ('backbone.layer1.0.downsample.1.running_mean',
     'backbone.bottom_up.res2.0.shortcut.norm.running_mean'),
    ('backbone.layer3.5.bn2.weight',
     'backbone.bottom_up.res4.5.conv2.norm.weight'),
    ('backbone.layer4.2.conv3.weight',
     'backbone.bottom_up.res5.2.conv3.weight'),
    ('neck.lateral_convs.0.conv.weight', 'backbone.fpn_lateral2.weight'),
    ('neck.lateral_convs.3.bn.running_var',
     'backbone.fpn_lateral5.norm.running_var'),
    ('neck.fpn_convs.0.conv.weight', 'backbone.fpn_output2.weight'),
    ('neck.fpn_convs.3.bn.bias', 'backbone.fpn_output5.norm.bias'),
    ('roi_head.bbox_head.shared_convs.0.conv.weight',
     'roi_heads.box_head.conv1.weight'),
    ('roi_head.bbox_head.shared_convs.3.bn.weight',
     'roi_heads.box_head.conv4.norm.weight'),
    ('roi_head.bbox_head.shared_fcs.0.weight',
     'roi_heads.box_head.fc1.weight'),
    ('roi_head.bbox_head.shared_fcs.0.bias', 'roi_heads.box_head.fc1.bias'),
]
C4_TABLE = [
    ('backbone.conv1.weight', 'backbone.stem.conv1.weight'),
    ('backbone.layer3.0.downsample.1.weight',
     'backbone.res4.0.shortcut.norm.weight'),
    ('roi_head.shared_head.layer4.0.conv1.weight',
     'roi_heads.res5.0.conv1.weight'),
    ('roi_head.shared_head.layer4.0.downsample.0.weight',
     'roi_heads.res5.0.shortcut.weight'),
    ('roi_head.shared_head.layer4.1.bn2.running_var',
     'roi_heads.res5.1.conv2.norm.running_var'),
]


@pytest.mark.parametrize('arch,table', [('fpn', FPN_TABLE), ('c4', C4_TABLE)])
def test_written_table(arch, table):
    for mmdet_key, d2_key in table:
        assert detectron2_key(mmdet_key, arch) == d2_key


def _d2_resnet50_fpn_names():
    """detectron2's R50-FPN + 4conv1fc names (BN buffers without
    num_batches_tracked), from the module structure described above."""
    norm = ('weight', 'bias', 'running_mean', 'running_var')

    def conv(name):
        return [f'{name}.weight'] + [f'{name}.norm.{p}' for p in norm]

    names = conv('backbone.bottom_up.stem.conv1')
    for stage, num in zip(range(2, 6), (3, 4, 6, 3)):
        for i in range(num):
            for c in (1, 2, 3):
                names += conv(f'backbone.bottom_up.res{stage}.{i}.conv{c}')
            if i == 0:
                names += conv(f'backbone.bottom_up.res{stage}.{i}.shortcut')
    for level in range(2, 6):
        names += conv(f'backbone.fpn_lateral{level}')
        names += conv(f'backbone.fpn_output{level}')
    for k in range(1, 5):
        names += conv(f'roi_heads.box_head.conv{k}')
    names += ['roi_heads.box_head.fc1.weight', 'roi_heads.box_head.fc1.bias']
    return names


def test_whole_r50_fpn_detector_maps_onto_detectron2():
    from mmsoco.converters import arch_destination_shapes
    from mmsoco.converters.checks import DEFAULT_ARCH_CONFIGS
    shapes = arch_destination_shapes(DEFAULT_ARCH_CONFIGS['fpn'])
    state_dict = {k: torch.zeros(s) for k, s in shapes.items()}
    model, counts = mmdet_to_detectron2(state_dict, 'fpn')
    assert sorted(model) == sorted(_d2_resnet50_fpn_names())
    assert counts['dropped num_batches_tracked'] == sum(
        k.endswith('num_batches_tracked') for k in state_dict)
    assert all(isinstance(v, np.ndarray) for v in model.values())


def test_unknown_key_is_named():
    with pytest.raises(ConversionError, match='rpn_head.rpn_conv.weight'):
        detectron2_key('rpn_head.rpn_conv.weight')
    with pytest.raises(ConversionError, match='backbone.layer1.0.conv9'):
        detectron2_key('backbone.layer1.0.conv9.weight')


def test_pickle_round_trip_and_refusal(tmp_path):
    model = {
        'backbone.bottom_up.stem.conv1.weight':
        np.arange(6, dtype=np.float32).reshape(2, 3)
    }
    path = str(tmp_path / 'w.pkl')
    save_pickle_atomic(detectron2_checkpoint(model), path)
    loaded = load_detectron2_pickle(path)
    assert loaded['__author__'] == 'mmsoco'
    assert loaded['matching_heuristics'] is False
    np.testing.assert_array_equal(
        loaded['model']['backbone.bottom_up.stem.conv1.weight'],
        model['backbone.bottom_up.stem.conv1.weight'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['w.pkl']

    class Evil:

        def __reduce__(self):
            return (osp.join, ('a', 'b'))

    evil = str(tmp_path / 'evil.pkl')
    with open(evil, 'wb') as f:
        pickle.dump({'model': Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match='posixpath.join'):
        load_detectron2_pickle(evil)

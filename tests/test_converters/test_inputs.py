"""What a converter was given: a detectron2 .pkl and an MMDetection detector
checkpoint are named for what they are; a ResNet-18 SoCo checkpoint is
checked against the ResNet-18 architecture its meta.cfg records."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmsoco.converters import ConversionError, convert_to_mmdet
from mmsoco.converters.checks import ARCH_CONFIGS
from mmsoco.converters.inputs import recorded_backbone_depth
from soco_checkpoint import TINY_CONFIGS, soco_state_dict

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def soco_sd():
    return soco_state_dict('fpn', seed=2)


def _save(tmp_path, state_dict, name='epoch_1.pth', **meta):
    path = str(tmp_path / name)
    torch.save(dict(meta=meta, state_dict=state_dict), path)
    return path


def test_a_detectron2_pickle_is_named(tmp_path):
    # detectron2's model zoo layout, pickled as Python 3.8+ does (protocol 4)
    model = {
        'backbone.bottom_up.stem.conv1.weight': np.zeros((4, 3, 7, 7),
                                                         np.float32),
        'roi_heads.box_head.fc1.weight': np.zeros((8, 16), np.float32),
    }
    path = tmp_path / 'model_final.pkl'
    path.write_bytes(
        pickle.dumps(
            dict(model=model, __author__='Detectron2 Model Zoo'), protocol=4))
    # what torch alone says about it
    with pytest.raises(Exception, match='Unsupported operand 149'):
        torch.load(str(path), weights_only=True)
    with pytest.raises(ConversionError) as err:
        convert_to_mmdet(str(path), str(tmp_path / 'out.pth'))
    message = str(err.value)
    assert str(path) in message and 'detectron2 weight file' in message
    assert 'backbone.bottom_up.stem.conv1.weight' in message
    assert 'epoch_N.pth' in message
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('prefix', ['roi_head.', 'rpn_head.'])
def test_an_mmdet_detector_checkpoint_is_named(tmp_path, soco_sd, prefix):
    detector = {
        'backbone.conv1.weight':
        soco_sd['backbone.conv1.weight'],
        'neck.lateral_convs.0.conv.weight':
        soco_sd['neck.lateral_convs.0.conv.weight'],
        f'{prefix}fc_cls.weight':
        torch.zeros(3, 8),
    }
    src = _save(tmp_path, detector, 'mask_rcnn.pth')
    with pytest.raises(ConversionError) as err:
        convert_to_mmdet(src, str(tmp_path / 'out.pth'))
    message = str(err.value)
    assert 'already an MMDetection detector checkpoint' in message
    assert f'{prefix}fc_cls.weight' in message
    assert f'load_from={src}' in message


def test_a_converted_checkpoint_fed_back_is_named(tmp_path, soco_sd):
    src = _save(
        tmp_path,
        soco_sd,
        cfg=Config.fromfile(TINY_CONFIGS['fpn']).pretty_text)
    once = str(tmp_path / 'mmdet.pth')
    convert_to_mmdet(src, once, progress=False)
    with pytest.raises(ConversionError, match='already an MMDetection'):
        convert_to_mmdet(once, str(tmp_path / 'twice.pth'), progress=False)


def test_r18_checked_against_the_depth_its_meta_cfg_records(tmp_path, soco_sd):
    # no meta.cfg: the R50 default, 198 tensors missing (the case)
    bare = _save(tmp_path, soco_sd, 'bare.pth')
    with pytest.raises(ConversionError, match='198 detector tensors'):
        convert_to_mmdet(bare, str(tmp_path / 'a.pth'), progress=False)
    # what mmengine's CheckpointHook saves: the config as text
    cfg_text = Config.fromfile(TINY_CONFIGS['fpn']).pretty_text
    src = _save(tmp_path, soco_sd, 'epoch_2.pth', cfg=cfg_text)
    report = convert_to_mmdet(src, str(tmp_path / 'b.pth'), progress=False)
    assert (f'checked against {ARCH_CONFIGS[("fpn", 18)]} (ResNet-18, from '
            "the checkpoint's meta.cfg)") in report
    assert 'all present with matching shapes' in report
    # a depth without an architecture file: refused, naming the flags
    other = _save(
        tmp_path,
        soco_sd,
        'r34.pth',
        cfg=cfg_text.replace('depth=18', 'depth=34'))
    with pytest.raises(ConversionError) as err:
        convert_to_mmdet(other, str(tmp_path / 'c.pth'), progress=False)
    assert 'ResNet-34 FPN' in str(err.value)
    assert '--arch-config' in str(err.value) and '--config' in str(err.value)
    assert not (tmp_path / 'c.pth').exists()


@pytest.mark.parametrize('config', [
    'configs/soco/soco_r50fpn_400e.py', 'configs/soco/soco_r18fpn_demo.py',
    'configs/soco/soco_r50c4_100e.py', 'configs/baselines/byol_r18_demo.py'
])
def test_recorded_depth_is_what_mmengine_reads(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert recorded_backbone_depth(dict(cfg=cfg.pretty_text)) == \
        cfg.model.backbone.depth


def test_recorded_depth_never_runs_the_text(tmp_path):
    flag = tmp_path / 'ran'
    text = (f"open({str(flag)!r}, 'w').close()\n"
            'model = dict(type="SoCo", backbone=dict(depth=18))\n')
    assert recorded_backbone_depth(dict(cfg=text)) == 18
    assert not flag.exists()
    assert recorded_backbone_depth({}) is None
    assert recorded_backbone_depth(dict(cfg='model = dict(')) is None
    assert recorded_backbone_depth(dict(cfg='x = 1')) is None


def test_the_arch_config_table_matches_its_files():
    for (arch, depth), path in ARCH_CONFIGS.items():
        cfg = Config.fromfile(path)
        assert cfg.backbone.depth == depth, path
        assert ('neck' in cfg) == (arch == 'fpn'), path

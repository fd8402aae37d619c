"""The network of the R50 SoCo recipes, pinned to the reference's numbers
(docs/reference_parity.md row 19).

Each expected value is written here by hand from the authors' code, with the
place it comes from; the models are built from the recipes' configs, so a
default the configs leave out counts too.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from mmsoco.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _build(name):
    init_default_scope('mmsoco')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'soco', name))
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _mlp_layout(mlp):
    """(kind, in, out) of each layer, BN and activations included."""
    layers = []
    for m in mlp.modules():
        if isinstance(m, nn.Linear):
            layers.append(('linear', m.in_features, m.out_features))
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            layers.append(('bn', m.num_features, m.num_features))
        elif isinstance(m, nn.ReLU):
            layers.append(('relu', None, None))
    return layers


def _mlp(in_channels):  # mlps.py:12-31: Linear, BN, ReLU, Linear
    return [('linear', in_channels, 4096), ('bn', 4096, 4096),
            ('relu', None, None), ('linear', 4096, 256)]


@pytest.fixture(scope='module')
def fpn_model():
    return _build('soco_r50fpn_400e.py')


def test_every_residual_block_ends_in_a_zero_initialised_bn(fpn_model):
    # resnet.py:169-186: nn.init.constant_(m.bn3.weight, 0) per Bottleneck.
    blocks = [
        block for name in ('layer1', 'layer2', 'layer3', 'layer4')
        for block in getattr(fpn_model.backbone, name)
    ]
    assert len(blocks) == 3 + 4 + 6 + 3  # ResNet-50
    for block in blocks:
        assert torch.count_nonzero(block.norm3.weight) == 0
        assert torch.count_nonzero(block.norm1.weight) > 0  # the others not


def test_fpn_is_p2_to_p5_with_bn_no_bias_and_nearest_upsampling(fpn_model):
    # fpn.py:72-150: lateral 1x1 and output 3x3 convs with BN and no bias,
    # outputs P2-P5 (no extra level), top-down by nearest upsampling.
    neck = fpn_model.neck
    assert neck.num_outs == 4 and neck.start_level == 0
    assert neck.in_channels == [256, 512, 1024, 2048]
    assert neck.upsample_cfg['mode'] == 'nearest'
    convs = list(neck.lateral_convs) + list(neck.fpn_convs)
    assert len(convs) == 8
    for conv in convs:
        assert conv.conv.bias is None
        assert isinstance(conv.bn, nn.modules.batchnorm._BatchNorm)
        assert conv.conv.out_channels == 256
    assert [c.conv.kernel_size for c in neck.lateral_convs] == [(1, 1)] * 4
    assert [c.conv.kernel_size for c in neck.fpn_convs] == [(3, 3)] * 4
    # Four outputs at strides 4-32 for a 224-px view.
    feats = neck(fpn_model.backbone(torch.zeros(1, 3, 224, 224)))
    assert [f.shape[-1] for f in feats] == [56, 28, 14, 7]


def test_fpn_projector_and_predictor_sizes(fpn_model):
    # mlps.py:87-92: projector 1024 -> 4096 -> 256, predictor 256 -> 4096
    # -> 256, each Linear-BN-ReLU-Linear.
    assert _mlp_layout(fpn_model.projector) == _mlp(1024)
    assert _mlp_layout(fpn_model.predictor) == _mlp(256)


def test_c4_is_res5_then_7x7_average_pooling_then_2048_d_projector():
    model = _build('soco_r50c4_100e.py')
    assert _mlp_layout(model.projector) == _mlp(2048)
    assert _mlp_layout(model.predictor) == _mlp(256)
    # RoIAlign 14x14 on C4; res5 (stride 2) makes it 7x7, which the
    # embedding averages: 7x7 average pooling, as the reference's C4 head.
    assert model.roi_extractor.roi_layers[0].output_size == (14, 14)
    model.eval()
    roi_feats = torch.randn(2, 1024, 14, 14)
    res5 = model.shared_head(roi_feats)
    assert res5.shape == (2, 2048, 7, 7)
    net = nn.ModuleDict(
        dict(shared_head=model.shared_head, projector=model.projector))
    with torch.no_grad():
        embedded = model._embed_roi_feats(net, roi_feats, predict=False)
        expected = model.projector(nn.AvgPool2d(7)(res5).flatten(1))
    torch.testing.assert_close(embedded, expected)

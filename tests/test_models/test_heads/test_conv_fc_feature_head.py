"""ConvFCFeatureHead: mmdet ConvFCBBoxHead's shared trunk, same names."""
import torch
from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead

from mmsoco.models.heads import ConvFCFeatureHead

TRUNK = dict(
    num_shared_convs=4,
    num_shared_fcs=1,
    in_channels=16,
    conv_out_channels=16,
    fc_out_channels=32,
    roi_feat_size=7,
    norm_cfg=dict(type='BN', requires_grad=True))


def _mmdet_trunk_state(head):
    return {
        k: v
        for k, v in head.state_dict().items()
        if k.startswith(('shared_convs.', 'shared_fcs.'))
    }


def test_keys_and_shapes_equal_mmdet_shared_4conv1fc():
    ours = ConvFCFeatureHead(**TRUNK)
    trunk = {
        k: v
        for k, v in TRUNK.items()
        if k not in ('num_shared_convs', 'num_shared_fcs')
    }
    mmdet_head = Shared4Conv1FCBBoxHead(num_classes=3, **trunk)
    expected = _mmdet_trunk_state(mmdet_head)
    got = ours.state_dict()
    assert sorted(got) == sorted(expected)
    assert {k: v.shape for k, v in got.items()} == \
        {k: v.shape for k, v in expected.items()}
    assert 'shared_convs.0.conv.weight' in got
    assert 'shared_convs.3.bn.running_var' in got
    assert 'shared_convs.0.conv.bias' not in got  # BN follows: no bias
    # A pretrained trunk loads into the detector's head by name.
    missing, _ = mmdet_head.load_state_dict(got, strict=False)
    assert not [k for k in missing if k.startswith('shared_')]


def test_forward_is_convs_then_fc_relu():
    torch.manual_seed(0)
    head = ConvFCFeatureHead(**TRUNK).eval()
    x = torch.randn(5, 16, 7, 7)
    out = head(x)
    assert out.shape == (5, 32)
    # Independent re-computation with functional ops.
    y = x
    for conv in head.shared_convs:
        y = torch.nn.functional.conv2d(y, conv.conv.weight, padding=1)
        bn = conv.bn
        y = (y - bn.running_mean[None, :, None, None]
             ) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps)
        y = y * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
        y = y.clamp(min=0)
    fc = head.shared_fcs[0]
    y = (y.flatten(1) @ fc.weight.T + fc.bias).clamp(min=0)
    assert torch.allclose(out, y, atol=1e-5)

"""ScaleAwareRoIExtractor: level rule at the thresholds, per-level RoIAlign."""
import pytest
import torch
from mmcv.ops import RoIAlign
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

from mmsoco.models.roi_extractors import ScaleAwareRoIExtractor

ROI_LAYER = dict(
    type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)
STRIDES = [4, 8, 16, 32]


def _extractor(**kwargs):
    return ScaleAwareRoIExtractor(
        roi_layer=ROI_LAYER, out_channels=3, featmap_strides=STRIDES, **kwargs)


def _square_rois(sides, batch_idx=0):
    sides = torch.tensor(sides, dtype=torch.float64)
    zeros = torch.zeros_like(sides)
    return torch.stack(
        [zeros + batch_idx, zeros + 1, zeros + 2, sides + 1, sides + 2], 1)


def _feats(size=64, batch=2, channels=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(batch, channels, size // s, size // s, generator=gen)
        for s in STRIDES)


def test_levels_at_the_exact_thresholds():
    # sqrt(area) of a square is its side: 48 is still P2, a hair above is P3.
    sides = [1, 48, 48.0001, 96, 96.0001, 192, 192.0001, 224, 224.0001, 500]
    expected = [0, 0, 1, 1, 2, 2, 3, 3, -1, -1]
    levels = _extractor().assign(_square_rois(sides))
    assert levels.tolist() == expected
    clamped = _extractor(oversize='clamp').assign(_square_rois(sides))
    assert clamped.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 3]


def test_non_square_boxes_use_sqrt_area():
    # 24 x 96 has sqrt(area) 48 -> P2; 24 x 96.01 -> P3.
    rois = torch.tensor([[0, 0, 0, 24, 96], [0, 0, 0, 24, 96.01]],
                        dtype=torch.float64)
    assert _extractor().assign(rois).tolist() == [0, 1]


def test_configurable_ranges_and_switches():
    rois = _square_rois([10, 20, 30, 40, 50])
    ext = _extractor(scale_ranges=(10, 20, 30, 40))
    assert ext.assign(rois).tolist() == [0, 1, 2, 3, -1]
    fixed = _extractor(level_mapping='fixed', fixed_level=2)
    assert fixed.assign(rois).tolist() == [2] * 5


def test_mmdet_mapping_matches_mmdet():
    sides = torch.linspace(4, 900, 57).tolist()
    rois = _square_rois(sides).float()
    ours = _extractor(level_mapping='mmdet').assign(rois)
    mmdet_ext = SingleRoIExtractor(
        roi_layer=ROI_LAYER, out_channels=3, featmap_strides=STRIDES)
    assert torch.equal(ours, mmdet_ext.map_roi_levels(rois, 4))


def test_each_box_is_aligned_on_its_own_level_only():
    feats = _feats()
    rois = torch.tensor([
        [0, 3., 5., 30., 27.],  # s ~ 27 -> P2
        [1, 0., 0., 60., 50.],  # s ~ 55 -> P3
        [0, 2., 2., 63., 63.],  # s = 61 -> P3
        [1, 1., 1., 20., 9.]
    ])  # P2
    ext = _extractor(scale_ranges=(32, 64, 128, 224))
    levels = ext.assign(rois)
    assert levels.tolist() == [0, 1, 1, 0]
    out = ext(feats, rois)
    for k in range(len(rois)):
        lvl = int(levels[k])
        align = RoIAlign((7, 7),
                         spatial_scale=1 / STRIDES[lvl],
                         sampling_ratio=0,
                         aligned=True)
        expected = align(feats[lvl], rois[k:k + 1])
        assert torch.allclose(out[k:k + 1], expected, atol=1e-6)
        other = RoIAlign((7, 7),
                         spatial_scale=1 / STRIDES[lvl ^ 1],
                         sampling_ratio=0,
                         aligned=True)
        assert not torch.allclose(out[k:k + 1],
                                  other(feats[lvl ^ 1], rois[k:k + 1]))


def test_dropped_boxes_get_zero_features_and_align_on_level():
    feats = _feats(size=128)
    rois = torch.tensor([[0, 0., 0., 40., 40.], [1, 0., 0., 127., 127.],
                         [0, 10., 10., 90., 70.], [1, 5., 5., 15., 25.]])
    ext = _extractor(scale_ranges=(32, 64, 96, 112))
    assert ext.assign(rois).tolist() == [1, -1, 2, 0]
    out = ext(feats, rois)
    assert torch.count_nonzero(out[1]) == 0
    # align_on_level aligns every RoI on one level: a box's own level gives
    # the features forward() gave it.
    for k, level in enumerate(ext.assign(rois).tolist()):
        if level >= 0:
            on_level = ext.align_on_level(feats, rois, level)
            assert on_level.shape == (4, 3, 7, 7)
            assert torch.equal(on_level[k], out[k])


def test_unused_levels_stay_in_the_graph():
    feats = tuple(f.requires_grad_() for f in _feats())
    rois = _square_rois([10, 12], batch_idx=0).float()  # both on P2
    _extractor()(feats, rois).sum().backward()
    assert all(f.grad is not None for f in feats)
    assert torch.count_nonzero(feats[3].grad) == 0


@pytest.mark.parametrize('kwargs', [
    dict(level_mapping='nope'),
    dict(oversize='keep'),
    dict(scale_ranges=(48, 96, 192)),
    dict(scale_ranges=(96, 48, 192, 224)),
    dict(level_mapping='fixed', fixed_level=4),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        _extractor(**kwargs)


def _resnet_fpn_feats(view=112, batch=2, seed=0):
    """P2-P5 of a 112-px view through mmdet's ResNet-18 + FPN (real sizes)."""
    from mmdet.models.backbones import ResNet
    from mmdet.models.necks import FPN
    torch.manual_seed(seed)
    backbone = ResNet(depth=18, out_indices=(0, 1, 2, 3))
    neck = FPN(in_channels=[64, 128, 256, 512], out_channels=3, num_outs=4)
    backbone.eval()
    neck.eval()
    with torch.no_grad():
        return tuple(neck(backbone(torch.randn(batch, 3, view, view))))


def test_boxes_scale_by_the_feature_maps_real_size():
    """A 112-px view: 112 -> 56 (conv1) -> 28 (pool, P2) -> 14 -> 7 -> 4 (P5,
    a stride-2 conv rounds 7 / 2 up), so P5's scale is 4 / 112 = 1/28, as
    the reference's box / view size * feature size; 1/32 misplaces boxes."""
    feats = _resnet_fpn_feats()
    assert [tuple(f.shape[-2:]) for f in feats] == [(28, 28), (14, 14), (7, 7),
                                                    (4, 4)]
    from torchvision.ops import roi_align
    rois = torch.tensor([[0, 10., 20., 90., 100.], [1, 0., 0., 111., 60.]])
    ext = _extractor()
    for level, side in enumerate((28, 14, 7, 4)):
        got = ext.align_on_level(feats, rois, level, view_size=(112, 112))
        boxes = torch.cat([rois[:, :1], rois[:, 1:] / 112 * side], 1)
        expected = roi_align(feats[level], boxes, (7, 7), 1.0, -1, True)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    by_stride = ext.align_on_level(feats, rois, 3)  # no view size: 1/32
    assert not torch.allclose(by_stride, expected, atol=1e-3)
    # forward() (the fast batching) uses the same rule
    levels = torch.tensor([3, 3])
    torch.testing.assert_close(
        ext(feats, rois, levels=levels, view_size=(112, 112)),
        expected,
        rtol=1e-5,
        atol=1e-6)


@pytest.mark.parametrize('path', ['mmcv', 'TVRoIAlign', 'torchvision twin'])
def test_alignment_runs_in_float32_under_autocast(monkeypatch, path):
    """Under AMP the features are bf16 / fp16: every layer path still gets
    float32 features and boxes and gives the float32 result."""
    from mmsoco.models.roi_extractors import scale_aware
    layer = 'TVRoIAlign' if path == 'TVRoIAlign' else 'RoIAlign'
    ext = ScaleAwareRoIExtractor(
        roi_layer=dict(ROI_LAYER, type=layer),
        out_channels=3,
        featmap_strides=STRIDES)
    if path == 'torchvision twin':  # CPU tensors stand in for CUDA ones
        monkeypatch.setattr(scale_aware, 'use_torchvision_for',
                            lambda device: True)
    gen = torch.Generator().manual_seed(0)
    low = tuple(
        torch.randn(2, 3, side, side, generator=gen).bfloat16()
        for side in (28, 14, 7, 4))
    rois = torch.tensor([[0, 3.3, 5.1, 30.7, 27.2], [1, 0., 0., 60., 50.],
                         [0, 2., 2., 100., 111.9], [1, 1., 1., 20., 9.]])
    high = tuple(f.float() for f in low)
    expected = ext(high, rois, view_size=(112, 112))
    expected_levels = [
        ext.align_on_level(high, rois, level, (112, 112)) for level in range(4)
    ]
    layers = ext._torchvision_layers if path == 'torchvision twin' \
        else ext.roi_layers
    assert all(
        type(lay).__name__ == ('RoIAlign' if path == 'mmcv' else 'TVRoIAlign')
        for lay in layers)
    seen = []
    for lay in layers:
        lay.register_forward_pre_hook(lambda module, args: seen.append(
            (args[0].dtype, args[1].dtype)))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = ext(low, rois, view_size=(112, 112))
        per_level = [
            ext.align_on_level(low, rois, level, (112, 112))
            for level in range(4)
        ]
    assert len(seen) > 4
    assert set(seen) == {(torch.float32, torch.float32)}
    assert out.dtype == torch.float32 and torch.equal(out, expected)
    for got, want in zip(per_level, expected_levels):
        assert got.dtype == torch.float32 and torch.equal(got, want)

"""TVRoIAlign: mmcv's arguments mapped onto torchvision, built from configs.

torchvision is faked here (this machine's CPU torch has no torchvision) by a
stand-in that records its arguments and computes with mmcv's CPU kernel, so
the mapping is checked without torchvision; the numerical agreement of the
two real layers runs only where torchvision imports (the GPU check runs it
on CUDA for real).
"""
import pytest
import torch
from mmcv.ops import RoIAlign

from mmsoco.models.layers import TVRoIAlign, torchvision_sampling_ratio
from mmsoco.models.roi_extractors import ScaleAwareRoIExtractor
from tv_fakes import random_rois


@pytest.mark.parametrize('mmcv_ratio, expected', [(0, -1), (-1, -1), (-3, -1),
                                                  (1, 1), (2, 2)])
def test_sampling_ratio_mmcv_adaptive_becomes_torchvision_adaptive(
        mmcv_ratio, expected):
    assert torchvision_sampling_ratio(mmcv_ratio) == expected


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='integer'):
        torchvision_sampling_ratio(1.5)
    with pytest.raises(ValueError, match="pool_mode='avg'"):
        TVRoIAlign(7, pool_mode='max')
    with pytest.raises(ValueError, match=r'\(n, 5\)'):
        TVRoIAlign(7)(torch.zeros(1, 1, 4, 4), torch.zeros(3, 4))


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('ratio', [0, 2])
def test_forward_passes_mmcv_meaning_to_torchvision(fake_tv, aligned, ratio):
    layer = TVRoIAlign((7, 5),
                       spatial_scale=0.25,
                       sampling_ratio=ratio,
                       aligned=aligned)
    feat = torch.randn(2, 3, 16, 16)
    rois = random_rois(6, 64, 2).double()  # cast to float32 for the kernel
    out = layer(feat, rois)
    assert fake_tv.calls == [
        dict(
            dtype=torch.float32,
            rois_dtype=torch.float32,
            output_size=(7, 5),
            spatial_scale=0.25,
            sampling_ratio=-1 if ratio == 0 else ratio,
            aligned=aligned)
    ]
    expected = RoIAlign((7, 5), 0.25, ratio, aligned=aligned)(feat,
                                                              rois.float())
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_half_features_align_in_float32_and_keep_their_dtype(fake_tv):
    # Box coordinates must not be rounded to bf16 (8 bits: ~1 px at 224).
    feat = torch.randn(1, 2, 16, 16).bfloat16()
    rois = torch.tensor([[0., 10.3, 20.7, 150.1, 201.9]])
    out = TVRoIAlign(7, spatial_scale=1 / 16)(feat, rois)
    assert out.dtype == torch.bfloat16
    assert fake_tv.calls[0]['dtype'] == torch.float32
    assert fake_tv.calls[0]['rois_dtype'] == torch.float32


def test_from_mmcv_copies_every_argument():
    mmcv_layer = RoIAlign(
        14, spatial_scale=1 / 16, sampling_ratio=0, aligned=False)
    layer = TVRoIAlign.from_mmcv(mmcv_layer)
    assert (layer.output_size, layer.spatial_scale, layer.sampling_ratio,
            layer.aligned) == ((14, 14), 1 / 16, 0, False)


@pytest.mark.parametrize('layer_type, cls', [('RoIAlign', RoIAlign),
                                             ('TVRoIAlign', TVRoIAlign)])
def test_extractor_builds_either_layer_from_config(layer_type, cls):
    extractor = ScaleAwareRoIExtractor(
        roi_layer=dict(
            type=layer_type, output_size=7, sampling_ratio=0, aligned=True),
        out_channels=3,
        featmap_strides=[4, 8, 16, 32])
    assert [type(layer) for layer in extractor.roi_layers] == [cls] * 4
    # the extractor hands the layers boxes already in feature pixels
    assert [layer.spatial_scale for layer in extractor.roi_layers] == \
        [1.] * 4
    assert all(layer.aligned and layer.sampling_ratio == 0
               for layer in extractor.roi_layers)


def test_agrees_with_mmcv_roi_align_numerically():
    # torchvision is a pinned requirement (requirements/torch.txt): an import
    # failure here is a broken install, not a reason to skip.
    import torchvision  # noqa: F401
    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 8, 32, 32, generator=gen, requires_grad=True)
    rois = random_rois(40, 256, 2)
    for aligned in (True, False):
        for ratio in (0, 2):
            ref = RoIAlign(7, 1 / 8, ratio, aligned=aligned)(feat, rois)
            ours = TVRoIAlign(7, 1 / 8, ratio, aligned=aligned)(feat, rois)
            torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)

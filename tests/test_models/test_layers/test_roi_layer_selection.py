"""Which RoI layer aligns which features: mmcv on CPU, torchvision on CUDA
when mmcv has no CUDA ops (probed once), in the FPN and the C4 extractor."""
import pytest
import torch
from mmcv.ops import RoIAlign

from mmsoco.models.layers import TVRoIAlign, roi_layer_selection
from mmsoco.models.roi_extractors import ScaleAwareRoIExtractor, scale_aware
from tv_fakes import random_rois


@pytest.fixture
def machine(monkeypatch):
    """Set CUDA availability, mmcv's compiled CUDA and the probe's result."""
    probes = []

    def set_machine(cuda, mmcv_cuda, probe_ok=True):
        roi_layer_selection.mmcv_has_cuda_roi_align.cache_clear()
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
        monkeypatch.setattr(roi_layer_selection, 'mmcv_compiled_cuda_version',
                            lambda: mmcv_cuda)

        def probe():
            probes.append(1)
            return probe_ok

        monkeypatch.setattr(roi_layer_selection,
                            '_probe_mmcv_roi_align_on_cuda', probe)
        return probes

    yield set_machine
    roi_layer_selection.mmcv_has_cuda_roi_align.cache_clear()


@pytest.mark.parametrize(
    'cuda, mmcv_cuda, probe_ok, has_ops, probed',
    [
        (False, '12.1', True, False, 0),  # no GPU: never probe
        (True, 'not available', True, False, 0),  # CPU-ops build
        (True, '12.1', True, True, 1),  # CUDA build that works
        (True, '12.1', False, False, 1)
    ])  # CUDA build that fails here
def test_mmcv_cuda_ops_detected_once(machine, cuda, mmcv_cuda, probe_ok,
                                     has_ops, probed):
    probes = machine(cuda, mmcv_cuda, probe_ok)
    for _ in range(3):
        assert roi_layer_selection.mmcv_has_cuda_roi_align() is has_ops
    assert len(probes) == probed
    assert roi_layer_selection.use_torchvision_for(torch.device(
        'cuda', 0)) is (not has_ops)
    assert roi_layer_selection.use_torchvision_for('cpu') is False


def _extractor(strides, layer='RoIAlign'):
    return ScaleAwareRoIExtractor(
        roi_layer=dict(
            type=layer, output_size=7, sampling_ratio=0, aligned=True),
        out_channels=3,
        featmap_strides=strides,
        level_mapping='scale_aware' if len(strides) == 4 else 'fixed',
        oversize='clamp')


def _feats(strides, size=128, batch=2):
    gen = torch.Generator().manual_seed(1)
    return tuple(
        torch.randn(batch, 3, size // s, size // s, generator=gen)
        for s in strides)


@pytest.mark.parametrize('strides', [[4, 8, 16, 32], [16]], ids=['fpn', 'c4'])
def test_cpu_features_keep_the_mmcv_layer(machine, strides):
    machine(cuda=True, mmcv_cuda='not available')
    extractor = _extractor(strides)
    feats = _feats(strides)
    for level in range(len(strides)):
        assert extractor.roi_layer_for(level, feats[level]) is \
            extractor.roi_layers[level]


@pytest.mark.parametrize('strides', [[4, 8, 16, 32], [16]], ids=['fpn', 'c4'])
def test_cuda_features_without_mmcv_cuda_use_torchvision(
        monkeypatch, fake_tv, strides):
    # CPU tensors stand in for CUDA ones: the device test is patched, the
    # computation (fake torchvision -> mmcv CPU kernel) is real.
    monkeypatch.setattr(scale_aware, 'use_torchvision_for', lambda d: True)
    logged = []
    monkeypatch.setattr(scale_aware, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    extractor = _extractor(strides)
    feats = _feats(strides)
    rois = random_rois(30, 128, 2)
    expected = [
        RoIAlign(7, 1 / s, 0, aligned=True)(feats[i], rois)
        for i, s in enumerate(strides)
    ]
    out = extractor(feats, rois)
    per_level = [
        extractor.align_on_level(feats, rois, i) for i in range(len(strides))
    ]
    # boxes reach the layer in feature pixels (scaled by 1 / stride without
    # a view size), the layer runs at scale 1
    used = {call['spatial_scale'] for call in fake_tv.calls}
    assert used == {1.}
    assert all(call['sampling_ratio'] == -1 for call in fake_tv.calls)
    levels = extractor.assign(rois)
    for i in range(len(strides)):
        torch.testing.assert_close(per_level[i], expected[i])
        torch.testing.assert_close(out[levels == i], expected[i][levels == i])
    assert len(logged) == 1 and 'torchvision' in logged[0]
    assert all(isinstance(layer, RoIAlign) for layer in extractor.roi_layers)
    assert set(extractor.state_dict()) == set(_extractor(strides).state_dict())


def test_configured_torchvision_layer_is_used_on_cpu(fake_tv):
    extractor = _extractor([16], layer='TVRoIAlign')
    feats = _feats([16])
    extractor.align_on_level(feats, random_rois(4, 128, 2), 0)
    assert isinstance(extractor.roi_layer_for(0, feats[0]), TVRoIAlign)
    assert len(fake_tv.calls) == 1

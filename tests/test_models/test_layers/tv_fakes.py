"""A recording torchvision stand-in for the RoI-layer tests (no torchvision here)."""
import sys
import types

import pytest
import torch
from mmcv.ops import roi_align


class FakeTorchvision:
    """``torchvision.ops.roi_align`` stand-in: records calls, computes with
    mmcv's kernel after mapping torchvision's adaptive -1 back to 0."""

    def __init__(self):
        self.calls = []

    def roi_align(self, input, boxes, output_size, spatial_scale,
                  sampling_ratio, aligned):
        self.calls.append(
            dict(
                dtype=input.dtype,
                rois_dtype=boxes.dtype,
                output_size=output_size,
                spatial_scale=spatial_scale,
                sampling_ratio=sampling_ratio,
                aligned=aligned))
        mmcv_ratio = 0 if sampling_ratio == -1 else sampling_ratio
        return roi_align(input, boxes, output_size, spatial_scale, mmcv_ratio,
                         'avg', aligned)


def install_fake_torchvision(monkeypatch, roi_align_fn) -> None:
    """Make ``from torchvision.ops import roi_align`` give ``roi_align_fn``
    for the rest of the test."""
    ops = types.ModuleType('torchvision.ops')
    ops.roi_align = roi_align_fn
    package = types.ModuleType('torchvision')
    package.ops = ops
    monkeypatch.setitem(sys.modules, 'torchvision', package)
    monkeypatch.setitem(sys.modules, 'torchvision.ops', ops)


@pytest.fixture
def fake_tv(monkeypatch):
    fake = FakeTorchvision()
    install_fake_torchvision(monkeypatch, fake.roi_align)
    return fake


def random_rois(n, size, batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen) * size * 0.7
    wh = 1 + torch.rand(n, 2, generator=gen) * size * 0.5
    idx = torch.randint(0, batch, (n, 1), generator=gen).float()
    return torch.cat([idx, xy, (xy + wh).clamp(max=size)], 1)

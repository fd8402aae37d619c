"""TVRoIAlign on CUDA against mmcv's RoIAlign on the CPU (benchmarks/gpu).

Same random FPN-sized features and boxes (sqrt(area) 16-320 px in a 224
view, some partly outside it), every stride of SoCo's FPN, aligned=True and
the configs' adaptive sampling (0), plus aligned=False and sampling 2:
outputs and the gradient of the features must agree to 1e-5 (absolute plus
relative). mmcv runs on the CPU because the GPU machine's mmcv has CPU ops
only; that is exactly the pair the automatic selection swaps.
"""
import torch
from mmcv.ops import RoIAlign

from mmsoco.models.layers import TVRoIAlign

TOL = 1e-5
STRIDES = (4, 8, 16, 32)
VIEW = 224


def random_rois(gen, n, batch, view):
    side = torch.exp(torch.empty(n).uniform_(2.77, 5.77, generator=gen))
    aspect = torch.exp(torch.empty(n).uniform_(-1, 1, generator=gen))
    w, h = side * aspect.sqrt(), side / aspect.sqrt()
    cx = torch.rand(n, generator=gen) * view
    cy = torch.rand(n, generator=gen) * view
    idx = torch.randint(0, batch, (n, ), generator=gen).float()
    return torch.stack([idx, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                       1)


def _max_excess(ours, ref):
    """max |ours - ref| and whether |ours - ref| <= TOL + TOL * |ref|."""
    diff = (ours - ref).abs()
    return float(diff.max()), bool((diff <= TOL + TOL * ref.abs()).all())


def compare(feat, rois, stride, sampling_ratio, aligned, device):
    """Forward and input-gradient differences of the two layers."""
    args = (7, 1 / stride, sampling_ratio, 'avg', aligned)
    feat_cpu = feat.detach().clone().requires_grad_(True)
    ref = RoIAlign(*args)(feat_cpu, rois)
    feat_dev = feat.detach().clone().to(device).requires_grad_(True)
    ours = TVRoIAlign(*args)(feat_dev, rois.to(device))
    grad_out = torch.randn(
        ref.shape, generator=torch.Generator().manual_seed(stride))
    ref.backward(grad_out)
    ours.backward(grad_out.to(device))
    fwd, fwd_ok = _max_excess(ours.detach().cpu(), ref.detach())
    bwd, bwd_ok = _max_excess(feat_dev.grad.cpu(), feat_cpu.grad)
    return dict(
        stride=stride,
        sampling_ratio=sampling_ratio,
        aligned=aligned,
        max_abs_diff_forward=fwd,
        max_abs_diff_grad=bwd,
        ok=fwd_ok and bwd_ok)


def check_layer_agreement(device,
                          num_rois=512,
                          channels=256,
                          batch=4,
                          seed=0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    rois = random_rois(gen, num_rois, batch, VIEW)
    cases = []
    for stride in STRIDES:
        feat = torch.randn(
            batch, channels, VIEW // stride, VIEW // stride, generator=gen)
        for sampling_ratio, aligned in ((0, True), (0, False), (2, True)):
            cases.append(
                compare(feat, rois, stride, sampling_ratio, aligned, device))
    ok = all(case['ok'] for case in cases)
    worst = max(
        max(c['max_abs_diff_forward'], c['max_abs_diff_grad']) for c in cases)
    return dict(
        ran=True,
        ok=ok,
        tolerance=TOL,
        cases=cases,
        summary=f"{'agree' if ok else 'DISAGREE'} (max abs diff "
        f'{worst:.1e}, tolerance {TOL} abs + rel, {len(cases)} cases)')

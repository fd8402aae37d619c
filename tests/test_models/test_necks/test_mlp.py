"""ProjectionMLP: Linear-BN-ReLU-Linear."""
import torch

from mmsoco.models.necks import ProjectionMLP


def test_structure_and_forward():
    torch.manual_seed(0)
    mlp = ProjectionMLP(in_channels=6, hid_channels=10, out_channels=4)
    assert list(dict(mlp.named_children())) == \
        ['linear1', 'bn1', 'relu', 'linear2']
    x = torch.randn(8, 6)
    out = mlp(x)
    assert out.shape == (8, 4)
    h = x @ mlp.linear1.weight.T + mlp.linear1.bias
    h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)
    h = (h * mlp.bn1.weight + mlp.bn1.bias).clamp(min=0)
    assert torch.allclose(
        out, h @ mlp.linear2.weight.T + mlp.linear2.bias, atol=1e-5)

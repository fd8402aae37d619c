"""CosineSimilarityLoss: 2 - 2 cos, minimum at pred == target."""
import math

import torch

from mmsoco.models.losses import CosineSimilarityLoss


def test_values_by_hand():
    loss = CosineSimilarityLoss()
    a = torch.tensor([[1., 0.], [0., 2.]])
    assert loss(a, a).item() == 0.0  # the minimum: prediction == target
    assert math.isclose(loss(a, -a).item(), 4.0)
    b = torch.tensor([[1., 1.], [3., 0.]])  # cos 45 deg and cos 90 deg
    expected = 2 - 2 * (math.sqrt(0.5) + 0.0) / 2
    assert math.isclose(loss(a, b).item(), expected, rel_tol=1e-6)
    assert math.isclose(loss(5 * a, b).item(), expected, rel_tol=1e-6)
    ref = CosineSimilarityLoss(offset=0.0)
    assert math.isclose(ref(a, a).item(), -2.0)


def test_minimum_over_random_predictions():
    torch.manual_seed(0)
    target = torch.randn(6, 8)
    loss = CosineSimilarityLoss()
    at_target = loss(target * 3, target)
    for _ in range(20):
        assert loss(torch.randn(6, 8), target) > at_target


def test_gradient_goes_to_prediction_only_and_empty_is_zero():
    pred = torch.randn(3, 4, requires_grad=True)
    target = torch.randn(3, 4, requires_grad=True)
    CosineSimilarityLoss()(pred, target).backward()
    assert pred.grad is not None and target.grad is None
    empty = torch.zeros(0, 4, requires_grad=True)
    out = CosineSimilarityLoss()(empty, torch.zeros(0, 4))
    assert out.item() == 0.0 and out.requires_grad

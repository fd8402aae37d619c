"""CosineSimilarityLoss: 2 - 2 cos, normalised per image as the reference."""
import math

import torch

from mmsoco.models.losses import CosineSimilarityLoss


def test_values_by_hand():
    loss = CosineSimilarityLoss()
    a = torch.tensor([[1., 0.], [0., 2.]])
    # the minimum: prediction == target (up to the reference's 1e-6 in each
    # image's count)
    assert math.isclose(loss(a, a).item(), 0.0, abs_tol=1e-5)
    assert math.isclose(loss(a, -a).item(), 4.0, rel_tol=1e-5)
    b = torch.tensor([[1., 1.], [3., 0.]])  # cos 45 deg and cos 90 deg
    expected = 2 - 2 * (math.sqrt(0.5) + 0.0) / 2
    assert math.isclose(loss(a, b).item(), expected, rel_tol=1e-6)
    assert math.isclose(loss(5 * a, b).item(), expected, rel_tol=1e-6)
    ref = CosineSimilarityLoss(offset=0.0)
    assert math.isclose(ref(a, a).item(), -2.0, rel_tol=1e-5)


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
    out = CosineSimilarityLoss()(empty, torch.zeros(0, 4),
                                 torch.zeros(0, dtype=torch.long), 2)
    # two images without a match each add 0 to the mean: offset - 0
    assert out.item() == 2.0 and out.requires_grad


def test_per_image_normalisation_then_mean_over_images():
    """The reference: sum(cos * corr) / (sum(corr) + 1e-6) per image, then
    the mean over all images of the batch, times -2 (+ offset)."""
    e0, e1 = torch.tensor([1., 0.]), torch.tensor([0., 1.])
    pred = torch.stack([e0, e0, e0, e1])
    target = torch.stack([e0, e1, e1, e1])  # cos 1, 0, 0 | 1
    image = torch.tensor([0, 0, 0, 1])
    # image 0: (1 + 0 + 0) / 3; image 1: 1 / 1; image 2: no match -> 0
    expected = 2 - 2 * (1 / (3 + 1e-6) + 1 / (1 + 1e-6) + 0) / 3
    loss = CosineSimilarityLoss()(pred, target, image, 3).item()
    assert math.isclose(loss, expected, rel_tol=1e-7)
    # not the mean over rows (2 - 2 * 2/4), nor over matched images only
    assert not math.isclose(loss, 2 - 2 * 0.5, rel_tol=1e-3)
    assert not math.isclose(loss, 2 - 2 * (1 / 3 + 1) / 2, rel_tol=1e-3)

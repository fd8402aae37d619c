"""embedding_stats: collapse read-outs against values worked out by hand."""
import math

import pytest
import torch

from mmsoco.models.utils.collapse import embedding_stats


def test_collapsed_rows_read_zero_std_and_cosine_one():
    z = torch.tensor([[0.3, -1.2, 2.0]]).repeat(6, 1)
    stats = embedding_stats(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert stats['proj_std'].item() == pytest.approx(0.0, abs=1e-6)
    assert stats['cross_image_cos'].item() == pytest.approx(1.0, abs=1e-6)


def test_gaussian_rows_read_one_over_sqrt_d_whatever_their_scale():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2048, 256, generator=g)
    index = torch.arange(2048)
    stats = embedding_stats(z, index)
    # Rows on the unit sphere in d=256: each coordinate has variance 1/d.
    assert stats['proj_std'].item() == pytest.approx(
        1 / math.sqrt(256), rel=0.02)
    assert abs(stats['cross_image_cos'].item()) < 0.01
    # The rows are L2-normalised first: scaling them changes nothing.
    scaled = embedding_stats(z * 40.0, index)
    torch.testing.assert_close(scaled['proj_std'], stats['proj_std'])


def test_cross_image_cosine_uses_pairs_of_different_images_only():
    z = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
    # Pairs of different images: (0,2) 1/sqrt2, (0,3) 1, (1,2) 1/sqrt2,
    # (1,3) 0 -> mean (sqrt2 + 1) / 4. Same-image pairs (0,1) = 0 and
    # (2,3) = 1/sqrt2 and the diagonal would all change it.
    stats = embedding_stats(z, torch.tensor([0, 0, 1, 1]))
    expected = (math.sqrt(2) + 1) / 4
    assert stats['cross_image_cos'].item() == pytest.approx(expected, abs=1e-6)
    # proj_std by hand: unit rows (1,0) (0,1) (.7071,.7071) (1,0); unbiased
    # std of each column, then their mean.
    unit = [[1, 0], [0, 1], [2**-0.5, 2**-0.5], [1, 0]]
    cols = list(zip(*unit))

    def std(xs):
        m = sum(xs) / len(xs)
        return math.sqrt(sum((x - m)**2 for x in xs) / (len(xs) - 1))

    assert stats['proj_std'].item() == pytest.approx(
        (std(cols[0]) + std(cols[1])) / 2, abs=1e-6)


def test_read_outs_carry_no_gradient_and_say_nan_when_undefined():
    z = torch.randn(3, 8, requires_grad=True)
    stats = embedding_stats(z, torch.zeros(3, dtype=torch.long))
    assert not stats['proj_std'].requires_grad
    assert math.isnan(stats['cross_image_cos'].item())  # one image only
    assert math.isnan(embedding_stats(z[:1], [0])['proj_std'].item())
    with pytest.raises(ValueError, match='2 entries for 3 rows'):
        embedding_stats(z, torch.tensor([0, 1]))

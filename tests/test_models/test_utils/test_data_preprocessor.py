"""``SoCoDataPreprocessor``: collate -> per-view normalised RGB batches."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmsoco.models.utils import SoCoDataPreprocessor
from mmsoco.structures import SoCoDataSample


def _sample(seed, shapes=((3, 16, 16), (3, 8, 12))):
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, s, generator=g, dtype=torch.uint8)
        for s in shapes
    ]
    data_sample = SoCoDataSample()
    data_sample.pair_bboxes = [[torch.rand(2, 4), torch.rand(2, 4)]]
    data_sample.pair_proposal_ids = [[torch.arange(2), torch.arange(2)]]
    data_sample.pair_matches = [torch.tensor([[0, 0], [1, 1]])]
    data_sample.cutout_squares = [
        torch.zeros((0, 4), dtype=torch.int64) for _ in shapes
    ]
    data_sample.set_metainfo(
        dict(view_pairs=[(0, 1)], view_shapes=[s[1:] for s in shapes]))
    return dict(inputs=inputs, data_samples=data_sample)


def test_normalises_rgb_per_view():
    samples = [_sample(0), _sample(1), _sample(2)]
    batch = pseudo_collate(samples)
    out = SoCoDataPreprocessor()(batch, training=True)
    mean = np.array([123.675, 116.28, 103.53]).reshape(3, 1, 1)
    std = np.array([58.395, 57.12, 57.375]).reshape(3, 1, 1)
    assert len(out['inputs']) == 2
    assert tuple(out['inputs'][0].shape) == (3, 3, 16, 16)
    assert tuple(out['inputs'][1].shape) == (3, 3, 8, 12)
    for v in range(2):
        for b, sample in enumerate(samples):
            bgr = sample['inputs'][v].numpy().astype(np.float64)
            expected = (bgr[::-1] - mean) / std  # BGR -> RGB, then normalise
            np.testing.assert_allclose(
                out['inputs'][v][b].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert out['inputs'][0].dtype == torch.float32
    data_samples = out['data_samples']
    assert len(data_samples) == 3
    assert data_samples[0].pair_matches[0].tolist() == [[0, 0], [1, 1]]
    assert data_samples[0].pair_proposal_ids[0][1].tolist() == [0, 1]


def test_custom_mean_std_no_flip():
    sample = _sample(0)
    batch = pseudo_collate([sample])
    out = SoCoDataPreprocessor(
        mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=False)(
            batch)
    assert torch.equal(out['inputs'][1][0], sample['inputs'][1].float())


def test_mismatched_views_are_refused():
    batch = pseudo_collate([_sample(0), _sample(1, ((3, 16, 16), (3, 8, 8)))])
    with pytest.raises(
            ValueError, match='view 1 of sample 1 is \\(3, 8, 8\\)'):
        SoCoDataPreprocessor()(batch)


def test_samples_outer_layout_is_refused():
    samples = [_sample(0), _sample(1), _sample(2)]
    by_hand = dict(
        inputs=[s['inputs'] for s in samples],
        data_samples=[s['data_samples'] for s in samples])
    with pytest.raises(ValueError, match='list over views'):
        SoCoDataPreprocessor()(by_hand)
    # square views of equal size: caught by the view shapes of the samples
    shapes = ((3, 8, 8), (3, 8, 8), (3, 4, 4))
    samples = [_sample(i, shapes) for i in range(3)]
    by_hand = dict(
        inputs=[s['inputs'] for s in samples],
        data_samples=[s['data_samples'] for s in samples])
    with pytest.raises(ValueError, match='list over views'):
        SoCoDataPreprocessor()(by_hand)


def test_moves_everything_to_the_model_device():
    """Images and every box tensor follow the preprocessor's device. The
    'meta' device stands in for a GPU: it is not the CPU, so anything left
    behind would show, and it runs on machines without one."""
    batch = pseudo_collate([_sample(0), _sample(1)])
    preprocessor = SoCoDataPreprocessor().to('meta')
    out = preprocessor(batch)
    assert all(x.device.type == 'meta' for x in out['inputs'])
    for sample in out['data_samples']:
        for key in ('pair_bboxes', 'pair_proposal_ids'):
            assert all(t.device.type == 'meta' for sets in sample.get(key)
                       for t in sets)
        for key in ('pair_matches', 'cutout_squares'):
            assert all(t.device.type == 'meta' for t in sample.get(key))


def test_cutout_squares_are_zero_after_normalisation():
    """A constant-200 view with the square x 2..4, y 3..6 (end exclusive
    5, 7) of sample 1: exactly 0 there, (200 - mean) / std elsewhere; the
    other sample and the other view untouched."""
    samples = [_sample(0), _sample(1)]
    for sample in samples:
        sample['inputs'] = [torch.full_like(x, 200) for x in sample['inputs']]
    samples[1]['data_samples'].cutout_squares[0] = torch.tensor([[2, 3, 5, 7]])
    out = SoCoDataPreprocessor()(pseudo_collate(samples))
    view = out['inputs'][0]
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    plain = ((200 - mean) / std).expand(3, 16, 16)
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[3:7, 2:5] = True
    assert (view[1][:, inside] == 0).all()
    assert int(inside.sum()) == 12  # 3 columns x 4 rows, worked by hand
    torch.testing.assert_close(view[1][:, ~inside], plain[:, ~inside])
    torch.testing.assert_close(view[0], plain)
    torch.testing.assert_close(out['inputs'][1],
                               ((200 - mean) / std).expand(2, 3, 8, 12))

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
    data_sample.bboxes = [torch.rand(2, 4) for _ in shapes]
    data_sample.proposal_ids = [torch.arange(2) for _ in shapes]
    data_sample.pair_matches = [torch.tensor([[0, 0], [1, 2]])]
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
            np.testing.assert_allclose(out['inputs'][v][b].numpy(),
                                       expected,
                                       rtol=1e-5,
                                       atol=1e-5)
    assert out['inputs'][0].dtype == torch.float32
    data_samples = out['data_samples']
    assert len(data_samples) == 3
    assert data_samples[0].pair_matches[0].tolist() == [[0, 0], [1, 2]]
    assert data_samples[0].proposal_ids[1].tolist() == [0, 1]


def test_custom_mean_std_no_flip():
    sample = _sample(0)
    batch = pseudo_collate([sample])
    out = SoCoDataPreprocessor(mean=(0, 0, 0), std=(1, 1, 1),
                               bgr_to_rgb=False)(batch)
    assert torch.equal(out['inputs'][1][0], sample['inputs'][1].float())


def test_mismatched_views_are_refused():
    batch = pseudo_collate([_sample(0), _sample(1, ((3, 16, 16), (3, 8, 8)))])
    with pytest.raises(ValueError,
                       match='view 1 of sample 1 is \\(3, 8, 8\\)'):
        SoCoDataPreprocessor()(batch)


def test_samples_outer_layout_is_refused():
    samples = [_sample(0), _sample(1), _sample(2)]
    by_hand = dict(inputs=[s['inputs'] for s in samples],
                   data_samples=[s['data_samples'] for s in samples])
    with pytest.raises(ValueError, match='list over views'):
        SoCoDataPreprocessor()(by_hand)
    # square views of equal size: caught by the view shapes of the samples
    shapes = ((3, 8, 8), (3, 8, 8), (3, 4, 4))
    samples = [_sample(i, shapes) for i in range(3)]
    by_hand = dict(inputs=[s['inputs'] for s in samples],
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
        for key in ('bboxes', 'proposal_ids', 'pair_matches'):
            assert all(t.device.type == 'meta' for t in sample.get(key))

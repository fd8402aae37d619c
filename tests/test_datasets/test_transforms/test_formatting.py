"""``PackSoCoInputs`` produces the SoCoDataSample contract (docs/method.md
section 2.5)."""
import numpy as np
import pytest
import torch

from mmsoco.datasets.transforms import MultiViewBoxJitter, PackSoCoInputs
from mmsoco.structures import SoCoDataSample


def _views_results():
    np.random.seed(0)
    img = np.random.randint(0, 255, (90, 120, 3), dtype=np.uint8)
    proposals = np.array([[10, 10, 60, 50], [40, 30, 110, 85]], np.float32)
    results = dict(
        img=img,
        img_path='a/b.jpg',
        ori_shape=(90, 120),
        proposals=proposals,
        proposal_ids=np.array([0, 1], np.int64))
    return MultiViewBoxJitter(
        views=[
            dict(kind='whole', size=64),
            dict(kind='crop', size=(48, 32), scale=(0.5, 1.0)),
            dict(kind='crop', size=32, scale=(0.5, 1.0)),
        ],
        cutout_views=(2, ),
        cutout_prob=1.0)(
            results)


def test_pack_contract():
    results = _views_results()
    views = results['views']
    packed = PackSoCoInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, SoCoDataSample)
    assert [tuple(x.shape) for x in inputs] == [(3, 64, 64), (3, 32, 48),
                                                (3, 32, 32)]
    for x, view in zip(inputs, views):
        assert x.dtype == torch.uint8 and x.is_contiguous()
        # channel order kept (BGR): channel c of the tensor is img[..., c]
        np.testing.assert_array_equal(x.numpy(),
                                      view['img'].transpose(2, 0, 1))
    assert sample.num_pairs == 2 and 'bboxes' not in sample
    for p in range(2):
        for side in range(2):
            boxes = sample.pair_bboxes[p][side]
            ids = sample.pair_proposal_ids[p][side]
            assert boxes.dtype == torch.float32 and boxes.shape == (4, 4)
            assert ids.dtype == torch.int64 and ids.shape == (4, )
            np.testing.assert_array_equal(boxes.numpy(),
                                          results['pair_bboxes'][p][side])
            np.testing.assert_array_equal(
                ids.numpy(), results['pair_proposal_ids'][p][side])
        rows = sample.pair_matches[p]
        assert rows.dtype == torch.int64 and rows.shape[1] == 2
        np.testing.assert_array_equal(rows.numpy(), results['pair_matches'][p])
    assert [tuple(s.shape) for s in sample.cutout_squares
            ] == [(0, 4)] * 2 + [(len(results['cutout_squares'][2]), 4)]
    assert all(s.dtype == torch.int64 for s in sample.cutout_squares)
    np.testing.assert_array_equal(sample.cutout_squares[2].numpy(),
                                  results['cutout_squares'][2])
    assert sample.view_pairs == [(0, 1), (0, 2)]
    assert sample.view_shapes == [(64, 64), (32, 48), (32, 32)]
    assert sample.flips == [v['flip'] for v in views]
    assert sample.crops == [v['crop'] for v in views]
    assert sample.img_path == 'a/b.jpg' and sample.ori_shape == (90, 120)


def test_pack_names_missing_key():
    with pytest.raises(KeyError, match='views.*x.jpg'):
        PackSoCoInputs()(dict(img_path='x.jpg'))

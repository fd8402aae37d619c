"""Packing SoCo's views into model inputs (docs/method.md section 2.5).

Turns the views built by ``MultiViewBoxJitter`` into the data contract of
:class:`~mmsoco.structures.SoCoDataSample`: one uint8 CHW tensor per view and
each view pair's box sets, their proposal ids and matches and each view's
cutout squares as tensors.
"""
import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmsoco.registry import TRANSFORMS
from mmsoco.structures import SoCoDataSample


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 (BGR) -> contiguous 3xHxW uint8 tensor, channels kept."""
    if img.ndim != 3:
        raise ValueError(f'expected an HxWxC image, got shape {img.shape}')
    # cv2.split + stack is ~2x faster than a strided transpose copy.
    return torch.from_numpy(np.stack(cv2.split(img)))


def _as_tensor(array, dtype, shape) -> torch.Tensor:
    return torch.from_numpy(
        np.ascontiguousarray(array, dtype=dtype).reshape(shape))


#: results keys PackSoCoInputs needs (MultiViewBoxJitter writes them).
_REQUIRED = ('views', 'view_pairs', 'pair_bboxes', 'pair_proposal_ids',
             'pair_matches', 'cutout_squares')


@TRANSFORMS.register_module()
class PackSoCoInputs(BaseTransform):
    """Pack SoCo's views and box sets into ``dict(inputs, data_samples)``.

    Paper: https://arxiv.org/abs/2106.02637 (docs/method.md, section 2).

    ``inputs`` is a list with one uint8 CHW tensor (BGR) per view;
    ``data_samples`` a :class:`SoCoDataSample` with the data fields
    ``pair_bboxes`` (per pair two (K, 4) float32), ``pair_proposal_ids``
    (per pair two (K,) int64), ``pair_matches`` (per pair (M, 2) int64) and
    ``cutout_squares`` (per view (n, 4) int64), and metainfo ``view_pairs``
    plus ``meta_keys`` taken from ``results`` and ``view_shapes``, ``flips``
    and ``crops`` from the views.

    Args:
        meta_keys (tuple[str]): keys of ``results`` copied into metainfo
            when present. Defaults to ('img_path', 'ori_shape').
    """

    def __init__(self, meta_keys=('img_path', 'ori_shape')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        for key in _REQUIRED:
            if key not in results:
                raise KeyError(f'PackSoCoInputs needs results[{key!r}] '
                               f'({results.get("img_path", "<image>")}); put '
                               'MultiViewBoxJitter before it')
        views = results['views']
        inputs = [image_to_tensor(view['img']) for view in views]
        sample = SoCoDataSample()
        sample.pair_bboxes = [[
            _as_tensor(boxes, np.float32, (-1, 4)) for boxes in sets
        ] for sets in results['pair_bboxes']]
        sample.pair_proposal_ids = [[
            _as_tensor(ids, np.int64, (-1, )) for ids in sets
        ] for sets in results['pair_proposal_ids']]
        sample.pair_matches = [
            _as_tensor(m, np.int64, (-1, 2)) for m in results['pair_matches']
        ]
        sample.cutout_squares = [
            _as_tensor(s, np.int64, (-1, 4)) for s in results['cutout_squares']
        ]
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        metainfo.update(
            view_pairs=[tuple(p) for p in results['view_pairs']],
            view_shapes=[tuple(view['img'].shape[:2]) for view in views],
            flips=[bool(view['flip']) for view in views],
            crops=[tuple(view['crop']) for view in views])
        # set_field, not set_metainfo: the values are fresh, so set_metainfo's
        # deep copy would only cost time (a third of this transform).
        for key, value in metainfo.items():
            sample.set_field(value, key, field_type='metainfo')
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'

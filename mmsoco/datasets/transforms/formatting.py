"""Packing SoCo's views into model inputs (spec section 2, the pipeline's end).

Turns the views built by ``MultiViewBoxJitter`` into the data contract of
:class:`~mmsoco.structures.SoCoDataSample`: one uint8 CHW tensor per view and
the per-view boxes, proposal ids and per-pair matches as tensors.
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


@TRANSFORMS.register_module()
class PackSoCoInputs(BaseTransform):
    """Pack ``results['views']`` into ``dict(inputs, data_samples)``.

    ``inputs`` is a list with one uint8 CHW tensor (BGR) per view;
    ``data_samples`` a :class:`SoCoDataSample` with fields ``bboxes``,
    ``proposal_ids`` and ``pair_matches`` and metainfo ``view_pairs`` plus
    ``meta_keys`` taken from ``results`` and ``view_shapes``, ``flips`` and
    ``crops`` from the views.

    Args:
        meta_keys (tuple[str]): keys of ``results`` copied into metainfo
            when present. Defaults to ('img_path', 'ori_shape').
    """

    def __init__(self, meta_keys=('img_path', 'ori_shape')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        for key in ('views', 'view_pairs', 'pair_matches'):
            if key not in results:
                raise KeyError(f'PackSoCoInputs needs results[{key!r}] '
                               f'({results.get("img_path", "<image>")}); put '
                               'MultiViewBoxJitter before it')
        views = results['views']
        inputs = [image_to_tensor(view['img']) for view in views]
        sample = SoCoDataSample()
        sample.bboxes = [
            torch.from_numpy(
                np.asarray(view['bboxes'], dtype=np.float32).reshape(-1, 4))
            for view in views
        ]
        sample.proposal_ids = [
            torch.from_numpy(np.asarray(view['proposal_ids'], dtype=np.int64))
            for view in views
        ]
        sample.pair_matches = [
            torch.from_numpy(np.asarray(m, dtype=np.int64).reshape(-1, 2))
            for m in results['pair_matches']
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

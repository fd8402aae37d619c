"""Batching and normalising SoCo's views on the device (docs/method.md section 2.5).

The pipeline hands over uint8 BGR views; here they are stacked per view, moved
to the device, turned to RGB and normalised with the ImageNet mean and std,
the cutout squares are blanked (0 after normalisation: the reference cuts out
after its ToTensor / Normalize), and every sample's box sets follow them to
the device.
"""
from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mmsoco.registry import MODELS

#: SoCoDataSample fields holding (nested lists of) tensors for the device.
_SAMPLE_TENSOR_FIELDS = ('pair_bboxes', 'pair_proposal_ids', 'pair_matches',
                         'cutout_squares')


def to_device(value, device, non_blocking: bool = False):
    """A tensor, or a (nested) list of tensors, moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=non_blocking)
    return [to_device(v, device, non_blocking) for v in value]


def blank_squares(batch: torch.Tensor, squares_per_sample: Sequence) -> None:
    """Set ``batch[b, :, y1:y2, x1:x2] = 0`` in place for every (n, 4)
    x1y1x2y2 (end exclusive) square of sample ``b``."""
    for b, squares in enumerate(squares_per_sample):
        for x1, y1, x2, y2 in squares.tolist():
            batch[b, :, y1:y2, x1:x2] = 0


def stack_views(inputs: Sequence) -> list:
    """Collated views -> list over views of (B, C, H, W) tensors.

    mmengine's ``pseudo_collate`` transposes each sample's list of views, so
    ``inputs`` is a list over views, each a sequence over samples of (C, H, W)
    tensors (or, from ``default_collate``, already one (B, C, H, W) tensor).
    Raises a clear error when a view's size differs between samples (views
    of a batch must have fixed sizes).
    """
    stacked = []
    for v, per_sample in enumerate(inputs):
        if isinstance(per_sample, torch.Tensor):
            stacked.append(per_sample)
            continue
        for b, img in enumerate(per_sample):
            if img.shape != per_sample[0].shape:
                raise ValueError(
                    f'view {v} of sample {b} is {tuple(img.shape)}, '
                    f'sample 0 has {tuple(per_sample[0].shape)}: view sizes '
                    'must be fixed within a batch')
        stacked.append(torch.stack(list(per_sample)))
    return stacked


def check_layout(inputs: Sequence, data_samples: Sequence) -> None:
    """Refuse inputs that are not views-outer, samples-inner.

    The number of views and their sizes come from the data samples'
    ``view_shapes``, so a batch built samples-outer by hand is named as such
    instead of being silently transposed.
    """
    batch_size = len(data_samples)
    sample = data_samples[0]
    if 'view_shapes' not in sample:
        return
    num_views = len(sample.view_shapes)
    hint = ('inputs must be a list over views of per-sample (C, H, W) '
            'tensors, as mmengine\'s pseudo_collate makes it')
    if len(inputs) != num_views:
        raise ValueError(f'{len(inputs)} input groups for {num_views} views: '
                         f'{hint}')
    for v, per_view in enumerate(inputs):
        if len(per_view) != batch_size:
            raise ValueError(f'view {v} has {len(per_view)} images for '
                             f'{batch_size} data samples: {hint}')
        for b, data_sample in enumerate(data_samples):
            shapes = data_sample.get('view_shapes')
            if shapes is not None and tuple(per_view[b].shape[-2:]) != tuple(
                    shapes[v]):
                raise ValueError(
                    f'view {v} of sample {b} is '
                    f'{tuple(per_view[b].shape[-2:])}, its data sample says '
                    f'{tuple(shapes[v])}: {hint}')


@MODELS.register_module()
class SoCoDataPreprocessor(BaseDataPreprocessor):
    """Stack, move, BGR-to-RGB convert and normalise SoCo's views.

    Input: a batch collated by mmengine's ``pseudo_collate`` from samples
    ``dict(inputs=[uint8 CHW tensor per view], data_samples=SoCoDataSample)``;
    that collate transposes the views, giving
    ``dict(inputs=[[uint8 CHW tensor per sample] per view],
    data_samples=[SoCoDataSample per sample])``.
    Output: ``dict(inputs=[float (B, 3, H_v, W_v) per view],
    data_samples=[...])``: each view normalised, then its ``cutout_squares``
    set to 0 (the ImageNet mean colour), and every sample's
    ``pair_bboxes``, ``pair_proposal_ids``, ``pair_matches`` and
    ``cutout_squares`` on the device.

    Paper: https://arxiv.org/abs/2106.02637 (docs/method.md, section 2).

    Args:
        mean (Sequence[float]): per-channel mean in the model's (RGB) order.
        std (Sequence[float]): per-channel std in the model's (RGB) order.
        bgr_to_rgb (bool): reverse the channels first. Defaults to True
            (mmcv decodes BGR).
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need 3 values each, got '
                             f'{mean} and {std}')
        self.register_buffer('mean',
                             torch.tensor(mean).view(1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb

    def _samples_to_device(self, data_samples):
        for sample in data_samples:
            for key in _SAMPLE_TENSOR_FIELDS:
                if key in sample:
                    sample.set_field(
                        to_device(
                            sample.get(key), self.device, self._non_blocking),
                        key)
        return data_samples

    def forward(self, data: dict, training: bool = False) -> dict:
        data_samples = data.get('data_samples')
        if data_samples is not None:
            check_layout(data['inputs'], data_samples)
        views = stack_views(data['inputs'])
        outputs = []
        for v, batch in enumerate(views):
            batch = batch.to(self.device, non_blocking=self._non_blocking)
            if self.bgr_to_rgb:
                batch = batch.flip(1)
            batch = (batch.float() - self.mean) / self.std
            if data_samples is not None and 'cutout_squares' in data_samples[0]:
                # squares are a few ints per box: read them on the host
                blank_squares(batch,
                              [s.cutout_squares[v] for s in data_samples])
            outputs.append(batch)
        if data_samples is not None:
            data_samples = self._samples_to_device(data_samples)
        return dict(inputs=outputs, data_samples=data_samples)

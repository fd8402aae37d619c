"""Synthetic SoCo batches in the data contract of ``SoCoDataSample``.

Random normalised views (224 / 224 / 112 for SoCo R50-FPN, or any sizes),
pairs (V1, V2) and (V1, V3), K boxes per view and pair drawn like
selective-search proposals that passed ``ratio3size0308`` (the box sampler
of ``benchmarks/train_step.py``), every box of a set matched to the same row
of the other set. A batch is a pure function of its seed, so a resumed run
sees the very batch the uninterrupted one saw.
"""
import os.path as osp
import sys
from typing import Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from train_step import random_boxes  # noqa: E402

from mmsoco.structures import SoCoDataSample  # noqa: E402

PAIRS = [(0, 1), (0, 2)]


def make_pair_batch(batch: int,
                    view_sizes: Sequence[int],
                    boxes_per_set: int = 4,
                    seed: int = 0,
                    device='cpu') -> dict:
    """``dict(inputs=[(B, 3, s, s) per view], data_samples=[...])``.

    Views are on ``device`` (already normalised floats: the model's data
    preprocessor only moves them); box tensors stay on the CPU, as the
    pipeline hands them over.
    """
    gen = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randn(batch, 3, s, s, generator=gen).to(device)
        for s in view_sizes
    ]
    rows = torch.arange(boxes_per_set)
    samples = []
    for _ in range(batch):
        sample = SoCoDataSample(metainfo=dict(view_pairs=PAIRS))
        pair_bboxes, pair_ids, pair_matches = [], [], []
        for first, second in PAIRS:
            scale = 0.5 + 0.5 * float(torch.rand(1, generator=gen))
            pair_bboxes.append([
                random_boxes(gen, boxes_per_set, view_sizes[first], 1.0),
                random_boxes(gen, boxes_per_set, view_sizes[second], scale),
            ])
            ids = torch.randperm(100, generator=gen)[:boxes_per_set]
            pair_ids.append([ids, ids.clone()])
            pair_matches.append(torch.stack([rows, rows], 1))
        sample.pair_bboxes = pair_bboxes
        sample.pair_proposal_ids = pair_ids
        sample.pair_matches = pair_matches
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)

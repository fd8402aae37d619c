"""FLOPs of a SoCo / BYOL training step (docs/method.md section 4).

What is counted: the forward of the online network (backbone, neck, RoI
extraction and 4conv1fc head for SoCo, projector, predictor) over every view
and every box set of a batch, with the model's own head batching; the
forward of the EMA target (the same without the predictor); and a training
step as 3 x online forward (forward + backward) + target forward.
``mmengine.analysis.FlopAnalyzer`` counts one multiply-add as one FLOP and
has no formula for RoIAlign, which counts as 0.

Used by ``tools/analysis_tools/get_flops.py`` and
``benchmarks/train_step.py``.
"""
from typing import Dict, List

import torch.nn as nn
from torch import Tensor


class NetworkForward(nn.Module):
    """The forward of one network of ``model`` over every view, as a module
    the FLOP counter can trace: the online network with the predictor, or
    the target without it."""

    def __init__(self, model: nn.Module, data_samples: list, online: bool):
        super().__init__()
        self.model, self.data_samples, self.online = model, data_samples, online

    def forward(self, *inputs: Tensor):
        model = self.model
        net = model._online_parts() if self.online else model.target
        if hasattr(model, 'roi_extractor'):  # SoCo: box sets on views
            pairs = model.view_pairs(self.data_samples, len(inputs))
            sets, levels = model._box_sets(self.data_samples, pairs,
                                           inputs[0].device)
            embeddings = model._embed_all(net, list(inputs), pairs, sets,
                                          levels, self.online)
            return tuple(embeddings.values())
        outs = []  # BYOL: whole views
        for img in inputs:
            z = model._embed(net, img)
            outs.append(model.predictor(z) if self.online else z)
        return tuple(outs)


def train_step_flops(model: nn.Module, inputs: List[Tensor],
                     data_samples: list) -> Dict[str, int]:
    """``online``, ``target`` and ``train`` FLOPs of one batch (see the
    module docstring for what each counts)."""
    from mmengine.analysis import FlopAnalyzer
    counts = {}
    for online in (True, False):
        network = NetworkForward(model, data_samples, online)
        analyzer = FlopAnalyzer(network, tuple(inputs))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        counts['online' if online else 'target'] = analyzer.total()
    counts['train'] = 3 * counts['online'] + counts['target']
    return counts

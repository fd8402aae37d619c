"""SoCo's projector and predictor (docs/method.md section 3.1): Linear-BN-ReLU-Linear.

Projector 1024 -> 4096 -> 256 (FPN) or 2048 -> 4096 -> 256 (C4, BYOL);
predictor 256 -> 4096 -> 256. Parameter names follow the reference
(``linear1``, ``bn1``, ``linear2``); the ``bn`` in the name is what the LARS
``paramwise_cfg`` keys on to exclude the BN parameters.
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmsoco.registry import MODELS


@MODELS.register_module()
class ProjectionMLP(BaseModule):
    """Two-layer MLP with a normalised, rectified hidden layer.

    SoCo (https://arxiv.org/abs/2106.02637), the projector and predictor:
    docs/method.md section 3.1.

    Args:
        in_channels (int): Input dimension.
        hid_channels (int): Hidden dimension. Defaults to 4096.
        out_channels (int): Output dimension. Defaults to 256.
        norm_cfg (dict): Hidden-layer norm; ``BN1d`` or ``SyncBN``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 4096,
                 out_channels: int = 256,
                 norm_cfg: dict = dict(type='BN1d'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.linear1 = nn.Linear(in_channels, hid_channels)
        self.bn1 = build_norm_layer(norm_cfg, hid_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Linear(hid_channels, out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.relu(self.bn1(self.linear1(x))))

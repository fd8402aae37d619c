"""The R-CNN box-head trunk SoCo pretrains (docs/method.md section 3.1).

``ConvFCFeatureHead`` is the shared part of mmdet's ``Shared4Conv1FCBBoxHead``
(4 x [3x3 conv, BN, ReLU], flatten, FC, ReLU) with exactly ConvFCBBoxHead's
parameter names (``shared_convs.{i}.conv``, ``shared_convs.{i}.bn``,
``shared_fcs.{j}``), so the pretrained trunk loads into a detector's
``roi_head.bbox_head`` by a prefix change. (The C4 variant's res5 is mmdet's
own ``ResLayer``, used as is; ``SoCo`` pools its output.)
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmsoco.registry import MODELS


@MODELS.register_module()
class ConvFCFeatureHead(BaseModule):
    """Shared convs + FCs of an mmdet ConvFCBBoxHead, producing RoI embeddings.

    SoCo (https://arxiv.org/abs/2106.02637), the 4conv1fc R-CNN head:
    docs/method.md section 3.1.

    Takes (n, in_channels, roi_feat_size, roi_feat_size) RoI features and
    returns (n, fc_out_channels) (post-ReLU), or (n, C * s * s) when there are
    no FCs. Arguments mean what they mean in mmdet's ConvFCBBoxHead.
    """

    def __init__(
        self,
        num_shared_convs: int = 4,
        num_shared_fcs: int = 1,
        in_channels: int = 256,
        conv_out_channels: int = 256,
        fc_out_channels: int = 1024,
        roi_feat_size: int = 7,
        conv_cfg: Optional[dict] = None,
        norm_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = dict(
            type='Xavier',
            distribution='uniform',
            override=dict(name='shared_fcs'))
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.shared_convs = nn.ModuleList()
        channels = in_channels
        for _ in range(num_shared_convs):
            # ConvModule drops the conv bias when a norm follows (bias='auto'),
            # as in mmdet's head, so the keys match one to one.
            self.shared_convs.append(
                ConvModule(
                    channels,
                    conv_out_channels,
                    3,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg))
            channels = conv_out_channels
        self.shared_fcs = nn.ModuleList()
        channels = channels * roi_feat_size * roi_feat_size
        for _ in range(num_shared_fcs):
            self.shared_fcs.append(nn.Linear(channels, fc_out_channels))
            channels = fc_out_channels
        self.out_channels = channels
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.shared_convs:
            x = conv(x)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.relu(fc(x))
        return x

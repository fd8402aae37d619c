"""res5 RoI shared head with one more norm layer after the stage.

SoCo's C4 fine-tuning (https://arxiv.org/abs/2106.02637; docs/method.md,
fine-tuning) follows MoCo's detectron2 C4 recipe, whose RoI head
(``Res5ROIHeadsExtraNorm``) appends a norm layer of the backbone's norm type
to res5, so the box and mask predictors see normalised features (MoCo adds
it because features from self-supervised pretraining can be distributed
differently from supervised ones). mmdet's ``ResLayer`` has no such layer;
this subclass adds it.

Key layout: res5 stays where mmdet's ``ResLayer`` puts it (``layer4.*``),
so weights converted by ``tools/model_converters/soco2mmdet.py`` land
unchanged; the new layer is ``norm.*`` and has no pretrained source
(:attr:`ResLayerExtraNorm.fine_tune_only` names it for the converters'
checks).
"""
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones import ResNet
from mmdet.models.roi_heads.shared_heads import ResLayer
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmsoco.registry import MODELS


def res_stage_out_channels(depth: int, stage: int) -> int:
    """Output channels of ResNet stage ``stage`` (0-based): 64 * 2**stage
    planes times the block's expansion (4 for bottlenecks, 1 for basic)."""
    block, _ = ResNet.arch_settings[depth]
    return 64 * 2**stage * block.expansion


@MODELS.register_module()
class ResLayerExtraNorm(ResLayer):
    """mmdet's res5 ``ResLayer`` followed by a norm layer on its output.

    SoCo (https://arxiv.org/abs/2106.02637), transfer to the R50-C4 detector:
    docs/method.md section 5.2.

    The norm is built from ``norm_cfg`` (the stage's own norm, e.g. SyncBN)
    over the stage's output channels (2048 for ResNet-50), starts as the
    identity affine (weight 1, bias 0) and, like the stage, is put in eval
    mode by ``norm_eval=True`` (every ``_BatchNorm``, SyncBN included: mmdet's
    ``ResLayer.train`` only freezes ``nn.BatchNorm2d``).

    Args:
        depth (int): ResNet depth of the stage (18, 34, 50, 101, 152).
        **kwargs: mmdet ``ResLayer`` arguments (``stage``, ``stride``,
            ``norm_cfg``, ``norm_eval``, ``style``, ``init_cfg`` ...).
    """

    #: Child modules with no counterpart in a pretrained network.
    fine_tune_only = ('norm', )

    def __init__(self, depth: int, **kwargs) -> None:
        super().__init__(depth, **kwargs)
        _, self.norm = build_norm_layer(
            self.norm_cfg, res_stage_out_channels(depth, self.stage))

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(super().forward(x))

    def train(self, mode: bool = True) -> 'ResLayerExtraNorm':
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

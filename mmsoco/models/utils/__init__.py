from .box_sets import BoxSet, MatchedRows, matched_rows, stack_box_set
from .data_preprocessor import SoCoDataPreprocessor
from .ema import CosineEMATarget, cosine_momentum, optimizer_steps
from .pretrained_backbone import PretrainedBackbone

__all__ = [
    'BoxSet', 'MatchedRows', 'matched_rows', 'stack_box_set',
    'SoCoDataPreprocessor', 'CosineEMATarget', 'cosine_momentum',
    'optimizer_steps', 'PretrainedBackbone'
]

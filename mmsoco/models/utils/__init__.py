from .box_sets import BoxSet, MatchedRows, matched_rows, stack_box_set  # noqa: F401,E501
from .data_preprocessor import SoCoDataPreprocessor  # noqa: F401
from .ema import CosineEMATarget, cosine_momentum, optimizer_steps  # noqa: F401

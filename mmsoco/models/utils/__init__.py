from .data_preprocessor import SoCoDataPreprocessor  # noqa: F401
from .ema import (build_momentum_target, copy_online_to_target_,  # noqa: F401
                  cosine_momentum, momentum_update_)

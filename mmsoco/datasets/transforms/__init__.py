from .multi_view import MultiViewBoxJitter  # noqa: F401
from .apply_to_views import ApplyToViews  # noqa: F401
from .formatting import PackSoCoInputs  # noqa: F401
from .photometric import (ColorJitter, RandomGaussianBlur,  # noqa: F401
                          RandomGrayscale, RandomSolarize)
from .proposals import SelectiveSearchProposals  # noqa: F401

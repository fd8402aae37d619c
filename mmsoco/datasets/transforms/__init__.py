from .apply_to_views import ApplyToViews
from .formatting import PackSoCoInputs
from .loading import LoadImageWithPIL
from .multi_view import MultiViewBoxJitter
from .photometric import (ColorJitter, RandomGaussianBlur, RandomGrayscale,
                          RandomSolarize)
from .proposals import SelectiveSearchProposals

__all__ = [
    'ApplyToViews', 'PackSoCoInputs', 'MultiViewBoxJitter', 'ColorJitter',
    'RandomGaussianBlur', 'RandomGrayscale', 'RandomSolarize',
    'SelectiveSearchProposals', 'LoadImageWithPIL'
]

from .byol import BYOL
from .soco import SoCo

__all__ = ['SoCo', 'BYOL']

"""Datasets and data transforms; importing this registers them."""
from .demo import make_demo_dataset  # noqa: F401
from .demo_cache import ensure_demo_dataset  # noqa: F401
from .soco_image_dataset import SoCoImageDataset  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .voc_with_difficult import VOCDatasetWithDifficult  # noqa: F401

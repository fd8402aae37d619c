"""Datasets and data transforms; importing this registers them."""
from .transforms import *  # noqa: F401,F403

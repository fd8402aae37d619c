"""Fixtures of the RoI layer tests: a recording torchvision stand-in."""
from tv_fakes import fake_tv  # noqa: F401

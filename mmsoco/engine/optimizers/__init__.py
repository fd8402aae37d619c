from .lars import LARS  # noqa: F401

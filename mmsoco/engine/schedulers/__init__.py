from .linear_warmup import LinearWarmupLR  # noqa: F401

from .scale_aware import ScaleAwareRoIExtractor

__all__ = ['ScaleAwareRoIExtractor']

from .soco_data_sample import SoCoDataSample

__all__ = ['SoCoDataSample']

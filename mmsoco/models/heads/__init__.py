from .conv_fc_feature_head import ConvFCFeatureHead

__all__ = ['ConvFCFeatureHead']

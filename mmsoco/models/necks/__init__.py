from .mlp import ProjectionMLP

__all__ = ['ProjectionMLP']

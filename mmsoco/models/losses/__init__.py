from .cosine_similarity import CosineSimilarityLoss

__all__ = ['CosineSimilarityLoss']

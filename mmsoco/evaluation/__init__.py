from .proposal_recall import eval_proposal_recall  # noqa: F401

from .dump_det_results import AtomicDumpDetResults  # noqa: F401
from .proposal_recall import eval_proposal_recall  # noqa: F401
from .voc_detection_metric import VOCDetectionAPMetric  # noqa: F401

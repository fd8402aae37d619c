"""``tools/test.py --out``: mmdet's ``DumpDetResults`` written so that the
pickle appears complete or not at all."""
import pickle

from mmdet.evaluation.metrics import DumpDetResults
from mmengine.logging import print_log

from mmsoco.registry import METRICS
from mmsoco.utils.atomic_files import atomic_open


@METRICS.register_module()
class AtomicDumpDetResults(DumpDetResults):
    """Predictions of a fine-tuned detector dumped for offline evaluation.

    SoCo (https://arxiv.org/abs/2106.02637), evaluating the transfer:
    docs/method.md section 5.2.

    mmdet's ``DumpDetResults`` (predictions, masks as RLE, to a pickle)
    written through a temporary file renamed into place, with the mode any
    new file gets under the user's umask: a test run killed while dumping
    leaves no truncated ``.pkl`` looking complete (mmengine's ``dump``
    writes the final path directly). Same pickle protocol (2) as mmengine's.
    """

    def compute_metrics(self, results: list) -> dict:
        with atomic_open(self.out_file_path, 'wb') as f:
            pickle.dump(results, f, protocol=2)
        print_log(
            f'Results has been saved to {self.out_file_path}.',
            logger='current')
        return {}

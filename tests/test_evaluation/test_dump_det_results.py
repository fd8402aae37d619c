"""AtomicDumpDetResults (``tools/test.py --out``): mmdet's dump, written so
that a failed dump leaves no file."""
import os

import pytest
from mmengine.fileio import dump

from mmsoco.evaluation import AtomicDumpDetResults


def test_the_pickle_is_mmengines_and_a_failed_dump_leaves_nothing(tmp_path):
    results = [dict(img_id=3, pred_instances=dict(scores=[0.5]))]
    ours = tmp_path / 'ours.pkl'
    old_umask = os.umask(0o027)
    try:
        AtomicDumpDetResults(str(ours)).compute_metrics(results)
    finally:
        os.umask(old_umask)
    theirs = tmp_path / 'theirs.pkl'
    dump(results, str(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    assert oct(ours.stat().st_mode & 0o777) == oct(0o640)  # the umask's
    broken = tmp_path / 'broken.pkl'
    with pytest.raises(Exception):
        AtomicDumpDetResults(str(broken)).compute_metrics(
            [dict(pred_instances=lambda: None)])  # lambdas do not pickle
    assert sorted(os.listdir(tmp_path)) == ['ours.pkl', 'theirs.pkl']

"""Running a tool as a user does: a fresh interpreter, its output captured.

The tools hide setuptools' "pkg_resources is deprecated" notice, which
mmengine triggers once per ``mmdet::`` base of a config; only a fresh
process shows whether it is printed (in a test process the warnings
filters of earlier tests apply).
"""
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: A fine-tuning config with ``mmdet::`` bases (the notice's trigger).
DETECTOR_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                           'mask-rcnn_r18-fpn_demo.py')
PKG_RESOURCES_NOTICE = 'pkg_resources is deprecated'


def run_tool(tool: str,
             *args: str,
             timeout: float = 300) -> subprocess.CompletedProcess:
    """``python tools/<tool> ARGS`` from the repository root; refuses a
    failed run, showing the end of its stderr."""
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', tool), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc

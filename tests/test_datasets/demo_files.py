"""Helpers shared by the demo dataset tests (test_demo.py, test_demo_cache.py):
small generation settings and a byte snapshot of a folder, so that two
datasets can be compared file for file.
"""
import os
import os.path as osp

# Small, fast settings for the tests that generate their own copies.
TINY = dict(min_size=48, max_size=80)


def tree_bytes(root):
    """{relative path: bytes} of every file under root."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files

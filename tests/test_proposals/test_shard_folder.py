"""A shard folder's manifest and crash records, and what generation and merge
do with a damaged manifest."""
import os
import os.path as osp
import re
import signal

import pytest

from mmsoco.proposals.generation import generate
from mmsoco.proposals.merge import merge_shards
from mmsoco.proposals.shard_folder import (CRASHED_FILE, MERGE_FIELDS,
                                           differing_fields, read_crashed,
                                           record_crashes)
from mmsoco.proposals.store_format import ProposalStoreError
from bad_images import PARAMS, write_good_images


def test_differing_fields_compares_values_as_saved():
    manifest = dict(
        num_shards=2,
        num_keys=5,
        keys_sha1='ab',
        params=dict(rule='r', size=(1, 2)))
    # As read back from JSON: lists for tuples, keys in another order.
    saved = dict(
        params={
            'size': [1, 2],
            'rule': 'r'
        },
        keys_sha1='ab',
        num_keys=5,
        num_shards=2)
    assert differing_fields(manifest, saved, MERGE_FIELDS) == []
    assert differing_fields(manifest, dict(saved, num_shards=3, params={}),
                            MERGE_FIELDS) == ['num_shards', 'params']
    assert differing_fields(manifest, {}, ['num_keys']) == ['num_keys']


def _marker(shard_dir, pid, key):
    with open(osp.join(shard_dir, f'.inflight-{pid}'), 'w') as f:
        f.write(key)


def test_only_a_worker_that_was_not_terminated_by_the_pool_is_blamed(tmp_path):
    shard_dir = str(tmp_path)
    _marker(shard_dir, 11, 'a/killed.jpg')  # SIGKILL: the out-of-memory killer
    _marker(shard_dir, 12, 'b/terminated.jpg')  # SIGTERM: the pool's own
    _marker(shard_dir, 13, 'c/unknown.jpg')  # no exit code known
    _marker(shard_dir, 14, 'd/finished.jpg')  # exited cleanly
    culprits = record_crashes(shard_dir, {
        11: -signal.SIGKILL,
        12: -signal.SIGTERM,
        14: 0
    })
    assert culprits == ['a/killed.jpg']
    assert [n for n in os.listdir(shard_dir)
            if n.startswith('.inflight')] == []
    assert read_crashed(shard_dir) == {'a/killed.jpg': 'worker died'}
    # A later crash is added to the earlier ones.
    _marker(shard_dir, 21, 'e/second.jpg')
    assert record_crashes(shard_dir, {21: 1}) == ['e/second.jpg']
    with open(osp.join(shard_dir, CRASHED_FILE)) as f:
        assert f.read() == ('a/killed.jpg\tworker died\n'
                            'e/second.jpg\tworker died\n')


def test_a_damaged_manifest_is_named_by_merge_and_by_resume(tmp_path):
    imgs = str(tmp_path / 'imgs')
    write_good_images(imgs, 2, size=(32, 24))
    out = str(tmp_path / 'out')
    generate(imgs, out, params=PARAMS, progress=False)
    manifest = osp.join(out, 'shards', 'shard-00000-of-00001', 'manifest.json')
    with open(manifest, 'w') as f:
        f.write('{"num_sh')
    with pytest.raises(
            ProposalStoreError,
            match=re.escape(manifest) + r' cannot be read \(damaged\)'):
        merge_shards(out)
    with pytest.raises(
            ProposalStoreError,
            match=re.escape(manifest) + r' cannot be read .*--overwrite'):
        generate(imgs, out, params=PARAMS, resume=True, progress=False)
    summary = generate(
        imgs, out, params=PARAMS, overwrite=True, progress=False)
    assert (summary['images'], summary['stored']) == (2, 2)

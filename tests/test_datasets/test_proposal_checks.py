"""SoCoImageDataset's start-up checks against its proposal store: every
refusal names the images and the setting that fixes it; every way out is
counted and listed."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.fileio.backends import BaseStorageBackend
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from proposal_check_files import (BOX, PIL_LOAD, PROPOSALS, build_dataset,
                                  write_images)

from mmsoco.datasets.proposal_checks import (computed_once, missing_images,
                                             size_mismatches)
from mmsoco.proposals.generation import generate
from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_exchange import import_reference_json
from mmsoco.proposals.store_writer import write_store
from mmsoco.registry import DATASETS, TRANSFORMS


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmsoco')


@pytest.fixture
def run_log(tmp_path):
    """A current logger with a log file, as mmengine's runner makes one."""
    log_dir = tmp_path / 'work_dir' / '20240101_000000'
    log_dir.mkdir(parents=True)
    logger = MMLogger.get_instance(
        f'proposal_checks_{tmp_path.name}',
        log_file=str(log_dir / '20240101_000000.log'))
    yield log_dir
    # Leave no closed file handler behind in a logger that later tests would
    # find as mmengine's current instance.
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    MMLogger._instance_dict.pop(logger.instance_name, None)


# -- 25.2: images without proposals ------------------------------------------
def test_missing_proposals_refused_naming_images_and_the_way_out(tmp_path):
    write_images(tmp_path / 'img', ['a.png', 'b.png', 'c.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('c.png', BOX, (16, 12))])
    with pytest.raises(KeyError) as err:
        build_dataset(tmp_path / 'img', store)
    message = str(err.value)
    assert "1 of 3 images of the dataset have no proposals" in message
    assert "'b.png'" in message and store in message
    assert "on_missing_proposals='skip'" in message
    assert 'train_dataloader.dataset.on_missing_proposals=skip' in message


def test_skip_drops_counts_and_lists_them_beside_the_log(tmp_path, run_log):
    write_images(tmp_path / 'img', ['a.png', 'b.png', 'c.png', 'd.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('c.png', BOX, (16, 12))])
    dataset = build_dataset(
        tmp_path / 'img', store, on_missing_proposals='skip')
    assert [dataset.get_data_info(i)['img_key']
            for i in range(len(dataset))] == ['a.png', 'c.png']
    log = (run_log / '20240101_000000.log').read_text()
    assert "dropping 2 of 4 images at start (no proposals in " in log
    assert "'b.png', 'd.png'" in log
    assert f'listed in {run_log / "dropped_images.tsv"}' in log
    listed = (run_log / 'dropped_images.tsv').read_text().splitlines()
    assert listed == [
        'img_key\treason', f'b.png\tno proposals in {store}',
        f'd.png\tno proposals in {store}'
    ]
    np.testing.assert_array_equal(dataset[1]['proposals'], BOX)


def test_skip_with_no_image_left_still_refuses(tmp_path):
    write_images(tmp_path / 'img', ['a.png'])
    store = write_store(str(tmp_path / 'store'), [('z.png', BOX, (16, 12))])
    with pytest.raises(KeyError, match='1 of 1 images') as err:
        build_dataset(tmp_path / 'img', store, on_missing_proposals='skip')
    # Nothing would be left to train on: no way out is offered.
    assert 'on_missing_proposals' not in str(err.value)


# -- 25.3: a store built over another root -----------------------------------
def test_store_over_the_parent_folder_names_key_prefix(tmp_path):
    photos = tmp_path / 'photos'
    write_images(photos / 'train', ['a.png', 'b.png'])
    write_images(photos, ['val/c.png'])
    out = str(tmp_path / 'proposals')
    generate(str(photos), out, params=dict(max_side=64), progress=False)
    store = osp.join(out, 'store')
    with pytest.raises(KeyError) as err:
        build_dataset(photos / 'train', store)
    message = str(err.value)
    assert '2 of 2 images' in message
    assert "set key_prefix='train/' on SelectiveSearchProposals" in message
    # The step is the pipeline's second: the command-line spelling of it.
    assert ('(--cfg-options train_dataloader.dataset.pipeline.1.key_prefix='
            'train/)') in message
    assert f'generated over {photos}' in message
    # The named setting fixes it.
    dataset = DATASETS.build(
        dict(
            type='SoCoImageDataset',
            data_prefix=dict(img_path=str(photos / 'train')),
            proposal_store=store,
            pipeline=[PIL_LOAD, dict(PROPOSALS, key_prefix='train/')]))
    assert len(dataset) == 2
    assert dataset[0]['proposals'].shape[1] == 4


def test_store_over_a_subfolder_names_the_image_folder(tmp_path):
    photos = tmp_path / 'photos'
    write_images(photos / 'train', ['a.png', 'b.png', 'c.png'])
    write_images(photos, ['val/d.png'])
    store = write_store(
        str(tmp_path / 'store'),
        [(k, BOX, (16, 12)) for k in ('a.png', 'b.png', 'c.png')])
    with pytest.raises(KeyError) as err:
        build_dataset(photos, store)
    message = str(err.value)
    assert "The dataset's keys start with 'train/'" in message
    assert "data_prefix.img_path ending in 'train/'" in message


# -- 28.7: the authors' stem-keyed JSON --------------------------------------
def test_stem_keyed_reference_json_without_image_root(tmp_path):
    write_images(tmp_path / 'img', ['n01/n01_1.JPEG', 'n02/n02_7.JPEG'])
    ref = tmp_path / 'ref.json'
    ref.write_text(
        json.dumps({
            'n01_1': [[1, 2, 5, 6]],
            'n02_7': [[0, 0, 15, 11]]
        }))
    store = import_reference_json(str(ref), str(tmp_path / 'store'))
    assert ProposalStore(store).key_form == 'stem'
    dataset = build_dataset(tmp_path / 'img', store)  # key_from: the store's
    np.testing.assert_array_equal(dataset[0]['proposals'], [[1, 2, 7, 9]])
    np.testing.assert_array_equal(dataset[1]['proposals'], [[0, 0, 16, 12]])


def test_stem_keys_without_key_form_get_a_hint(tmp_path):
    """A store of stems that does not say so (imported before mmsoco
    recorded the key form) is found with the hint's setting."""
    write_images(tmp_path / 'img', ['n01/n01_1.JPEG', 'n02/n02_7.JPEG'])
    store = write_store(
        str(tmp_path / 'store'), [('n01_1', BOX, (-1, -1)),
                                  ('n02_7', BOX, (-1, -1))])
    with pytest.raises(KeyError, match="set key_from='stem'"):
        build_dataset(tmp_path / 'img', store)


# -- 25.4 / 25.5: paths ------------------------------------------------------
def test_store_that_does_not_exist_names_the_override_key(tmp_path):
    write_images(tmp_path / 'img', ['a.png'])
    with pytest.raises(FileNotFoundError) as err:
        build_dataset(tmp_path / 'img', str(tmp_path / 'nowhere'))
    message = str(err.value)
    assert f'proposal store {tmp_path / "nowhere"} does not exist' in message
    assert 'train_dataloader.dataset.proposal_store=PATH' in message
    assert 'missing meta.json' not in message


def test_dataset_store_and_step_store_must_agree(tmp_path):
    write_images(tmp_path / 'img', ['a.png'])
    with pytest.raises(ValueError, match='disagree'):
        DATASETS.build(
            dict(
                type='SoCoImageDataset',
                data_prefix=dict(img_path=str(tmp_path / 'img')),
                proposal_store=str(tmp_path / 'one'),
                pipeline=[
                    PIL_LOAD,
                    dict(PROPOSALS, store_path=str(tmp_path / 'two'))
                ]))


# -- 25.6: sizes at start ----------------------------------------------------
def test_size_mismatch_found_at_start(tmp_path, run_log):
    write_images(tmp_path / 'img', ['a.png', 'b.png'])  # 16 x 12
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (20, 10))])
    with pytest.raises(ValueError) as err:
        build_dataset(tmp_path / 'img', store, on_bad_image='error')
    message = str(err.value)
    assert "'b.png': image 16x12, proposals for 20x10" in message
    assert "on_bad_image='skip'" in message
    dataset = build_dataset(tmp_path / 'img', store)  # on_bad_image='skip'
    assert len(dataset) == 1 and dataset.num_bad_images == 1
    assert 'b.png\tsize differs: image 16x12, proposals for 20x10' in (
        run_log / 'dropped_images.tsv').read_text()


def test_size_mismatch_found_while_loading_is_skipped(tmp_path):
    write_images(tmp_path / 'img', ['a.png', 'b.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (20, 10))])
    dataset = build_dataset(
        tmp_path / 'img', store, check_proposals_at_start=False)
    assert len(dataset) == 2
    out = dataset[1]  # b.png does not fit: another image comes instead
    assert out['img_key'] == 'a.png' and dataset.num_bad_images >= 1


# -- a dataset left empty ------------------------------------------------------
def test_every_image_dropped_is_refused_with_the_likely_cause(tmp_path):
    """Under on_bad_image='skip' a store of other images would drop them
    all and train on nothing: refused, naming the first and the cause."""
    write_images(tmp_path / 'img', [f'{i}.png' for i in range(7)])
    store = write_store(
        str(tmp_path / 'store'),
        [(f'{i}.png', BOX, (20, 10)) for i in range(7)])
    with pytest.raises(ValueError) as err:
        build_dataset(tmp_path / 'img', store)
    message = str(err.value)
    assert 'all 7 images of the dataset would be dropped at start' in message
    assert "'0.png': size differs: image 16x12, proposals for 20x10" in (
        message)
    assert '(and 2 more)' in message
    assert 'the store describes other images' in message


def test_every_image_unreadable_names_backend_args(tmp_path):
    write_images(tmp_path / 'img', ['a.png', 'b.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (16, 12))])
    for name in ('a.png', 'b.png'):
        (tmp_path / 'img' / name).write_bytes(b'not an image')
    with pytest.raises(ValueError) as err:
        build_dataset(tmp_path / 'img', store)
    message = str(err.value)
    assert "'a.png': unreadable: UnidentifiedImageError" in message
    assert "no image could be read" in message and 'backend_args' in message


# -- where the headers are read ----------------------------------------------
class _CountingBackend(BaseStorageBackend):
    """An mmengine file backend serving local files' bytes and counting the
    reads: what a remote storage looks like to the loader and the check."""
    reads = []
    #: (bucket, folder): paths under the bucket are read from the folder.
    served = ('', '')

    def get(self, filepath):
        type(self).reads.append(str(filepath))
        bucket, folder = self.served
        with open(str(filepath).replace(bucket, folder, 1), 'rb') as f:
            return f.read()

    def get_text(self, filepath, encoding='utf-8'):
        return self.get(filepath).decode(encoding)


def test_sizes_are_read_with_the_loaders_backend_args(tmp_path, run_log):
    """The header check reads each image through the loader's backend, as
    training does."""
    from mmengine.fileio import register_backend
    register_backend('mmsoco_test_counting', _CountingBackend, force=True)
    write_images(tmp_path / 'img', ['a.png', 'b.png'])
    (tmp_path / 'list.txt').write_text('a.png\nb.png\n')
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (20, 10))])
    # The images are on the "remote" storage only: not under the bucket's
    # path on this file system.
    bucket = str(tmp_path / 'bucket')
    _CountingBackend.served = (bucket, str(tmp_path / 'img'))
    _CountingBackend.reads.clear()
    load = dict(
        type='LoadImageWithPIL',
        backend_args=dict(backend='mmsoco_test_counting'))
    dataset = DATASETS.build(
        dict(
            type='SoCoImageDataset',
            ann_file=str(tmp_path / 'list.txt'),
            data_prefix=dict(img_path=bucket),
            proposal_store=store,
            pipeline=[load, PROPOSALS]))
    assert [dataset.get_data_info(i)['img_key']
            for i in range(len(dataset))] == ['a.png']
    # Each header once, through the backend.
    assert sorted(_CountingBackend.reads) == [
        osp.join(bucket, 'a.png'),
        osp.join(bucket, 'b.png')
    ]
    assert 'b.png\tsize differs: image 16x12, proposals for 20x10' in (
        run_log / 'dropped_images.tsv').read_text()
    assert dataset[0]['img'].shape == (12, 16, 3)
    assert len(_CountingBackend.reads) == 3


def test_size_check_progress_goes_to_the_log(tmp_path, run_log, monkeypatch,
                                             capsys):
    monkeypatch.setenv('MMSOCO_PROGRESS_INTERVAL', '0')
    write_images(tmp_path / 'img', ['a.png', 'b.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (16, 12))])
    build_dataset(tmp_path / 'img', store)
    log = (run_log / '20240101_000000.log').read_text()
    assert 'image sizes: 2/2 img (100.0%)' in log
    assert 'image sizes' not in capsys.readouterr().err


def _rank_builds(rank, port, img_root, store, queue):
    """One rank of a 2-process gloo group building the dataset; counts the
    headers it reads."""
    import torch.distributed as dist

    import mmsoco.proposals.decode as decode
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    reads = []
    header_size = decode.header_size
    decode.header_size = lambda *a, **k: reads.append(a[0]) or header_size(
        *a, **k)
    try:
        init_default_scope('mmsoco')
        dataset = build_dataset(img_root, store)
        queue.put((rank, len(dataset), len(reads)))
    except Exception as err:  # noqa: BLE001 - reported to the test
        queue.put((rank, repr(err), -1))
    finally:
        dist.destroy_process_group()


def test_headers_are_read_once_in_a_distributed_run(tmp_path):
    """Two ranks (gloo, CPU): rank 0 reads every header, rank 1 none, and
    both keep the same images."""
    import multiprocessing as mp
    import socket
    write_images(tmp_path / 'img', ['a.png', 'b.png', 'c.png'])
    store = write_store(
        str(tmp_path / 'store'), [('a.png', BOX, (16, 12)),
                                  ('b.png', BOX, (20, 10)),
                                  ('c.png', BOX, (16, 12))])
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    ranks = [
        ctx.Process(
            target=_rank_builds,
            args=(rank, port, tmp_path / 'img', store, queue))
        for rank in range(2)
    ]
    for process in ranks:
        process.start()
    try:
        results = sorted(queue.get(timeout=120) for _ in ranks)
    finally:
        for process in ranks:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    assert results == [(0, 2, 3), (1, 2, 0)]


def test_computed_once_raises_the_main_processs_error_everywhere(monkeypatch):
    """What rank 1 does: no computing; the main process's result, or its
    exception, comes through the broadcast."""
    import mmengine.dist as dist
    sent = {}
    monkeypatch.setattr(dist, 'get_world_size', lambda *a: 2)
    monkeypatch.setattr(dist, 'get_rank', lambda *a: 1)

    def broadcast(data, src=0):
        assert src == 0 and data == [None]
        data[0] = sent['outcome']

    monkeypatch.setattr(dist, 'broadcast_object_list', broadcast)

    def never():
        raise AssertionError('computed on rank 1')

    sent['outcome'] = (True, [(1, 'why')])
    assert computed_once(never) == [(1, 'why')]
    sent['outcome'] = (False, KeyError('on rank 0'))
    with pytest.raises(KeyError, match='on rank 0'):
        computed_once(never)


# -- the checks as functions -------------------------------------------------
def test_missing_images_and_size_mismatches(tmp_path):
    write_images(tmp_path / 'img', ['cls/0.png', 'cls/1.png'])  # 16 x 12
    store = write_store(
        str(tmp_path / 'store'), [('cls/0.png', BOX, (12, 16))])
    step = TRANSFORMS.build(dict(PROPOSALS, store_path=store))
    assert missing_images(step, ['cls/0.png', 'cls/1.png']) == [1]
    assert missing_images(step, ['cls/0.png']) == []
    infos = [
        dict(
            img_path=str(tmp_path / 'img' / f'cls/{i}.png'),
            img_key=f'cls/{i}.png') for i in range(2)
    ]
    # From the headers: the stored 12x16 is not the file's 16x12.
    assert size_mismatches(
        step, infos, progress=False) == [(0, 'image 16x12, proposals for '
                                          '12x16')]


def test_stem_keys_of_two_images_are_refused_naming_them(tmp_path):
    store = write_store(
        str(tmp_path / 'store'), [('0', BOX, (-1, -1))], key_form='stem')
    step = TRANSFORMS.build(dict(PROPOSALS, store_path=store))
    assert step.resolved_key_from == 'stem'  # from the store's meta.json
    assert missing_images(step, ['a/0.png', 'b/1.png']) == [1]
    with pytest.raises(ValueError, match=r"'0'.*'a/0.png', 'b/0.jpg'"):
        missing_images(step, ['a/0.png', 'b/0.jpg'])

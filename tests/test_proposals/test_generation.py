"""Proposal generation library: decoding, shards, resumable chunks, merge, summary."""
import json
import os
import os.path as osp
import re
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from mmsoco.proposals.chunks import chunk_path, load_chunk
from mmsoco.proposals.compute import compute_proposals
from mmsoco.proposals.decode import ImageDecodeError, decode_image, header_size
from mmsoco.proposals.generation import generate, list_image_keys
from mmsoco.proposals.merge import merge_shards
from mmsoco.proposals.shards import shard_keys
from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_format import ProposalStoreError
from bad_images import (BAD_KINDS, PARAMS, scene, write_bad_images,
                        write_good_images)


def _store_arrays(path):
    store = ProposalStore(path, validate=True)
    return [(k, b.tolist(), s) for k, b, s in store.items()]


# -- decoding ---------------------------------------------------------------
def test_decode_each_kind(tmp_path):
    write_bad_images(str(tmp_path))
    for name, fragment in BAD_KINDS.items():
        if fragment is None:
            continue
        with pytest.raises(ImageDecodeError, match=re.escape(fragment)):
            decode_image(str(tmp_path / name), max_pixels=20000)
    src = scene(80, 64)

    gray, notes = decode_image(str(tmp_path / 'gray.png'))
    assert gray.shape == (64, 80, 3) and notes == ['grayscale -> RGB']
    for c in range(3):
        np.testing.assert_array_equal(gray[:, :, c], src[:, :, 1])

    deep, notes = decode_image(str(tmp_path / 'deep16.png'))
    # Pillow's convert('RGB'), as the reference: v * 257 clipped to 255.
    np.testing.assert_array_equal(
        deep[:, :, 0], np.minimum(src[:, :, 0].astype(int) * 257, 255))
    assert '16-bit -> 8-bit' in notes[0]

    rgba, notes = decode_image(str(tmp_path / 'rgba.png'))
    np.testing.assert_array_equal(rgba, src[:, :, ::-1])  # cv2 wrote BGR
    assert notes == ['alpha dropped']

    cmyk, notes = decode_image(str(tmp_path / 'cmyk.jpg'))
    assert notes == ['CMYK -> RGB'] and cmyk.shape == (64, 80, 3)
    assert np.abs(cmyk.astype(int) - src.astype(int)).mean() < 8  # JPEG

    one, _ = decode_image(str(tmp_path / 'one.png'))
    assert one.shape == (1, 1, 3)
    with pytest.raises(ImageDecodeError, match='file not found'):
        decode_image(str(tmp_path / 'nope.jpg'))


def write_orientation6_jpeg(path, w=90, h=60):
    """A w x h JPEG whose EXIF says: rotate 90 degrees clockwise to view
    (orientation 6, a phone held upright); returns its stored pixels."""
    img = Image.fromarray(scene(w, h))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(path, exif=exif.tobytes(), quality=95)
    with Image.open(path) as stored:
        return np.asarray(stored.convert('RGB'))


def test_decode_ignores_exif_orientation_as_the_reference(tmp_path):
    path = str(tmp_path / 'rot.jpg')
    stored = write_orientation6_jpeg(path)
    rgb, notes = decode_image(path)
    # The reference's Image.open(f).convert('RGB'): the stored 90 x 60 frame.
    assert rgb.shape == (60, 90, 3) and notes == []
    np.testing.assert_array_equal(rgb, stored)
    assert header_size(path) == (90, 60)
    # The option turns it upright, as OpenCV's IMREAD_COLOR does.
    upright, notes = decode_image(path, exif_orientation=True)
    assert upright.shape == (90, 60, 3)
    assert notes == ['EXIF orientation applied']
    np.testing.assert_array_equal(upright, np.rot90(stored, k=-1))
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    assert np.abs(bgr[:, :, ::-1].astype(int) - upright.astype(int)).max() \
        <= 2
    assert header_size(path, exif_orientation=True) == (60, 90)


def test_generated_store_records_the_convention(tmp_path):
    root = tmp_path / 'imgs'
    root.mkdir()
    write_orientation6_jpeg(str(root / 'rot.jpg'))
    for exif, size in ((False, (90, 60)), (True, (60, 90))):
        out = str(tmp_path / f'out_{exif}')
        generate(
            str(root),
            out,
            params=dict(PARAMS, exif_orientation=exif),
            progress=False)
        store = ProposalStore(out)
        assert store.exif_orientation is exif
        assert store.size('rot.jpg') == size
    # A store from before the convention was recorded: EXIF was applied.
    meta_path = osp.join(out, 'store', 'meta.json')
    with open(meta_path) as f:
        meta = json.load(f)
    del meta['exif_orientation']
    with open(meta_path, 'w') as f:
        json.dump(meta, f)
    assert ProposalStore(out).exif_orientation is True


# -- keys and shards --------------------------------------------------------
def test_shards_partition_the_sorted_keys():
    keys = [f'k{i:03d}' for i in range(23)]
    shards = [shard_keys(keys, i, 4) for i in range(4)]
    assert sorted(sum(shards, [])) == keys
    assert sum(len(s) for s in shards) == len(keys)
    assert shard_keys(keys, 1, 4) == shards[1]  # deterministic
    with pytest.raises(ValueError):
        shard_keys(keys, 4, 4)


def test_overwrite_discards_only_shards_whose_manifest_differs(tmp_path):
    """--overwrite on shard 0 of 2: a shard folder of other settings goes;
    one of this run (done elsewhere) stays; one whose manifest is not
    readable yet (another machine's, just created) stays and is named."""
    imgs = str(tmp_path / 'imgs')
    write_good_images(imgs, 2, size=(32, 24))
    out = str(tmp_path / 'out')
    generate(imgs, out, params=PARAMS, shard=(1, 2), progress=False)
    shards = osp.join(out, 'shards')
    this_run = osp.join(shards, 'shard-00001-of-00002')
    other_settings = osp.join(shards, 'shard-00000-of-00003')
    os.makedirs(other_settings)
    with open(osp.join(this_run, 'manifest.json')) as f:
        manifest = json.load(f)
    with open(osp.join(other_settings, 'manifest.json'), 'w') as f:
        json.dump(dict(manifest, num_shards=3, shard_index=0), f)
    starting = osp.join(shards, 'shard-00001-of-00003')
    os.makedirs(starting)  # no manifest.json yet
    damaged = osp.join(shards, 'shard-00002-of-00003')
    os.makedirs(damaged)
    with open(osp.join(damaged, 'manifest.json'), 'w') as f:
        f.write('{"num_sh')
    with pytest.warns(UserWarning) as warned:
        generate(
            imgs,
            out,
            params=PARAMS,
            shard=(0, 2),
            overwrite=True,
            progress=False)
    assert sorted(os.listdir(shards)) == [
        'shard-00000-of-00002', 'shard-00001-of-00002', 'shard-00001-of-00003',
        'shard-00002-of-00003'
    ]
    message = str(warned[0].message)
    assert f'{starting}, {damaged}' in message
    assert 'without a readable manifest.json' in message


def test_list_image_keys(tmp_path):
    write_good_images(str(tmp_path), 2, sub='b')
    write_good_images(str(tmp_path), 1, sub='a')
    (tmp_path / 'notes.txt').write_text('not an image')
    assert list_image_keys(
        str(tmp_path)) == ['a/img0.jpg', 'b/img0.jpg', 'b/img1.jpg']
    lst = tmp_path / 'list.txt'
    lst.write_text('b/img1.jpg 3\nmissing.jpg 1\n')
    assert list_image_keys(str(tmp_path),
                           str(lst)) == ['b/img1.jpg', 'missing.jpg']
    with pytest.raises(FileNotFoundError):
        list_image_keys(str(tmp_path / 'nowhere'))


# -- runs -------------------------------------------------------------------
def test_bad_images_are_listed_and_the_run_completes(tmp_path):
    root = str(tmp_path / 'imgs')
    good = write_good_images(root, 2)
    write_bad_images(root)
    summary = generate(
        root,
        str(tmp_path / 'out'),
        params=PARAMS,
        chunk_size=3,
        progress=False)
    failures = {f['key']: f['reason'] for f in summary['failures']}
    expected_failures = {k: v for k, v in BAD_KINDS.items() if v is not None}
    assert set(failures) == set(expected_failures)
    for key, fragment in expected_failures.items():
        assert fragment in failures[key], (key, failures[key])
    store = ProposalStore(str(tmp_path / 'out' / 'store'), validate=True)
    decodable = [k for k, v in BAD_KINDS.items() if v is None]
    assert sorted(store.keys()) == sorted(good + decodable)
    # A 1x1 image gets the whole image as its single proposal.
    np.testing.assert_array_equal(store['one.png'], [[0, 0, 1, 1]])
    assert summary['fallbacks']['whole_image'] >= 1
    assert summary['images'] == len(good) + len(BAD_KINDS)
    assert summary['stored'] == len(store) and summary['failed'] == 4
    assert summary['boxes'] == int(store.num_boxes().sum())
    assert summary['conversions']['CMYK -> RGB'] == 1
    tsv = (tmp_path / 'out' / 'failures.tsv').read_text().splitlines()
    assert tsv[0] == 'key\treason' and len(tsv) == 5
    assert 'one.png\twhole_image' in (tmp_path / 'out' /
                                      'fallbacks.tsv').read_text()


def test_stored_boxes_are_compute_proposals_of_the_image(tmp_path):
    root = str(tmp_path / 'imgs')
    keys = write_good_images(root, 2, size=(120, 90))
    generate(root, str(tmp_path / 'out'), params=PARAMS, progress=False)
    store = ProposalStore(str(tmp_path / 'out' / 'store'))
    for k in keys:
        rgb = cv2.imread(osp.join(root, k))[:, :, ::-1].copy()
        ref = compute_proposals(rgb, max_side=None, rule='ratio3size0308')
        np.testing.assert_array_equal(store[k], ref.boxes)
        assert store.size(k) == (120, 90)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('gen')
    imgs = str(root / 'imgs')
    write_good_images(imgs, 7, size=(80, 64))
    write_bad_images(imgs)
    clean = str(root / 'clean')
    generate(imgs, clean, params=PARAMS, chunk_size=4, progress=False)
    return imgs, clean


def test_shards_merged_equal_a_single_process_run(dataset, tmp_path):
    imgs, clean = dataset
    out = str(tmp_path / 'sharded')
    for i in (2, 0):
        assert generate(
            imgs,
            out,
            params=PARAMS,
            shard=(i, 3),
            chunk_size=2,
            progress=False) is None
    with pytest.raises(ProposalStoreError, match=r'shard\(s\) \[1\] of 3'):
        merge_shards(out)
    generate(
        imgs,
        out,
        params=PARAMS,
        shard=(1, 3),
        chunk_size=2,
        workers=2,
        progress=False)
    summary = merge_shards(out)
    assert _store_arrays(osp.join(out, 'store')) == \
        _store_arrays(osp.join(clean, 'store'))
    # And both hold exactly what the chunks recorded per image.
    records = {}
    for dirpath, _, files in os.walk(osp.join(out, 'shards')):
        for name in files:
            if name.endswith('.npz'):
                for r in load_chunk(osp.join(dirpath, name)):
                    records[r['key']] = r
    store = ProposalStore(osp.join(out, 'store'))
    assert sorted(store.keys()) == sorted(k for k, r in records.items()
                                          if r['boxes'] is not None)
    for key in store.keys():
        np.testing.assert_array_equal(store[key], records[key]['boxes'])
        assert store.size(key) == records[key]['size']
    with open(osp.join(clean, 'summary.json')) as f:
        clean_summary = json.load(f)
    for k in ('images', 'stored', 'failed', 'boxes', 'failures', 'fallbacks'):
        assert summary[k] == clean_summary[k]


def test_resume_finishes_a_killed_run(dataset, tmp_path):
    imgs, clean = dataset
    out = str(tmp_path / 'out')
    shutil.copytree(clean, out)
    shard = osp.join(out, 'shards', 'shard-00000-of-00001')
    shutil.rmtree(osp.join(out, 'store'))
    # What a kill leaves: a missing chunk, a half-written temp file, and
    # (worst case, a disk fault) a chunk file that does not load.
    os.remove(osp.join(shard, 'chunk-000001.npz'))
    with open(osp.join(shard, '.chunk-000001.npz.abc.tmp'), 'wb') as f:
        f.write(b'PK\x03\x04 partial')
    with open(osp.join(shard, 'chunk-000002.npz'), 'r+b') as f:
        f.truncate(100)
    kept = os.stat(osp.join(shard, 'chunk-000000.npz')).st_mtime_ns
    with pytest.raises(ProposalStoreError, match='--resume'):
        generate(imgs, out, params=PARAMS, chunk_size=4, progress=False)
    generate(
        imgs, out, params=PARAMS, chunk_size=4, resume=True, progress=False)
    assert os.stat(osp.join(shard, 'chunk-000000.npz')).st_mtime_ns == kept
    assert not [n for n in os.listdir(shard) if n.endswith('.tmp')]
    assert _store_arrays(osp.join(out, 'store')) == \
        _store_arrays(osp.join(clean, 'store'))


def test_resume_with_other_settings_is_refused(dataset, tmp_path):
    imgs, clean = dataset
    out = str(tmp_path / 'out')
    shutil.copytree(clean, out)
    with pytest.raises(ProposalStoreError, match='params'):
        generate(
            imgs,
            out,
            params=dict(PARAMS, max_side=32),
            chunk_size=4,
            resume=True,
            progress=False)
    with pytest.raises(ProposalStoreError, match='chunk_size'):
        generate(
            imgs,
            out,
            params=PARAMS,
            chunk_size=5,
            resume=True,
            progress=False)


def test_a_worker_killed_on_an_image_is_named_then_listed(
        tmp_path, monkeypatch):
    import mmsoco.proposals.shards as generation
    root = str(tmp_path / 'imgs')
    keys = write_good_images(root, 6, size=(64, 48))
    victim = keys[3]
    real = generation.process_image

    def dies_on_victim(img_root, key, params):
        if key == victim:
            os.kill(os.getpid(), 9)  # as the out-of-memory killer would
        return real(img_root, key, params)

    # Forked workers inherit the patched module.
    monkeypatch.setattr(generation, 'process_image', dies_on_victim)
    out = str(tmp_path / 'out')
    with pytest.raises(ProposalStoreError, match=re.escape(repr(victim))):
        generate(
            root, out, params=PARAMS, workers=2, chunk_size=2, progress=False)
    monkeypatch.setattr(generation, 'process_image', real)
    summary = generate(
        root,
        out,
        params=PARAMS,
        workers=2,
        chunk_size=2,
        resume=True,
        progress=False)
    assert [f['key'] for f in summary['failures']] == [victim]
    assert 'worker process died' in summary['failures'][0]['reason']
    store = ProposalStore(osp.join(out, 'store'))
    assert sorted(store.keys()) == sorted(set(keys) - {victim})


def test_unreadable_exif_is_noted_not_silently_ignored():
    """With ``exif_orientation`` an EXIF block Pillow cannot parse leaves the
    image unturned, and the conversion notes (counted in summary.json) say
    so; without it nothing is read, nothing noted."""
    from mmsoco.proposals.decode import pil_to_rgb
    img = Image.fromarray(scene(48, 36))

    def broken_exif():
        raise SyntaxError('not a TIFF file')

    img.getexif = broken_exif
    rgb, notes = pil_to_rgb(img, exif_orientation=True)
    assert rgb.shape == (36, 48, 3)
    assert notes == ['EXIF unreadable: not turned upright']
    assert pil_to_rgb(img, exif_orientation=False)[1] == []


def test_a_damaged_chunk_is_named_by_merge_and_recomputed_by_resume(tmp_path):
    imgs = str(tmp_path / 'imgs')
    write_good_images(imgs, 4, size=(32, 24))
    out = str(tmp_path / 'out')
    clean = generate(imgs, out, params=PARAMS, chunk_size=2, progress=False)
    chunk = chunk_path(osp.join(out, 'shards', 'shard-00000-of-00001'), 1)
    assert osp.isfile(chunk)
    with open(chunk, 'wb') as f:
        f.write(b'PK\x03\x04 not a whole zip')
    with pytest.raises(
            ProposalStoreError,
            match=re.escape(chunk) + r' \((BadZipFile|ValueError|OSError|'
            r'EOFError)[^)]*\); a damaged chunk is computed again by '
            r'rerunning its shard with --resume'):
        merge_shards(out)
    with pytest.warns(UserWarning, match=re.escape(chunk) + ' cannot be read'):
        summary = generate(
            imgs,
            out,
            params=PARAMS,
            chunk_size=2,
            resume=True,
            progress=False)
    assert summary['stored'] == clean['stored'] == 4

"""Importing and exporting proposal stores: the authors' reference JSON
(keyed by file stem) and COCO results, both directions."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmsoco.proposals import store_exchange as exchange
from mmsoco.proposals.store import ProposalStore
from mmsoco.proposals.store_format import ProposalStoreError
from mmsoco.proposals.store_writer import write_store


def test_reference_mapping_hand_worked():
    # A region covering pixel columns 10..29 and rows 5..14: the reference's
    # selective search writes w = max_x - min_x = 19, h = 14 - 5 = 9.
    # In our convention (pixel i covers [i, i + 1)) that region is the box
    # x1 = 10, y1 = 5, x2 = 29 + 1 = 30, y2 = 14 + 1 = 15.
    got = exchange.reference_xywh_to_xyxy(np.array([[10, 5, 19, 9]]))
    np.testing.assert_array_equal(got, [[10, 5, 30, 15]])
    np.testing.assert_array_equal(
        exchange.xyxy_to_reference_xywh(got), [[10, 5, 19, 9]])


def reference_loader_lookup(props: dict, file_name: str):
    """How the reference's training loader finds an image's proposals: by
    the file name cut at its first dot (``contrast/data/dataset.py``)."""
    return props[osp.basename(file_name).split('.')[0]]


def test_authors_stem_keyed_json_round_trips_with_image_root(tmp_path):
    root = tmp_path / 'imgs'
    (root / 'cls').mkdir(parents=True)
    cv2.imwrite(
        str(root / 'cls' / 'x_1.JPEG'), np.zeros((20, 40, 3), np.uint8))
    cv2.imwrite(str(root / 'y_2.png'), np.zeros((8, 8, 3), np.uint8))
    # The authors' format: keyed by file stem (splitext of the file name).
    ref = {'x_1': [[10, 5, 19, 9], [0, 0, 39, 19]], 'y_2': [[1, 2, 3, 4]]}
    ref_path = tmp_path / 'ref.json'
    ref_path.write_text(json.dumps(ref))
    store = ProposalStore(
        exchange.import_reference_json(
            str(ref_path), str(tmp_path / 'store'), img_root=str(root)))
    assert list(store.keys()) == ['cls/x_1.JPEG', 'y_2.png']
    assert store.key_form == 'relpath' and store.exif_orientation is False
    # Whole-image rect (w = 39 = 40 - 1) maps exactly onto the image bounds.
    np.testing.assert_array_equal(store['cls/x_1.JPEG'],
                                  [[10, 5, 30, 15], [0, 0, 40, 20]])
    np.testing.assert_array_equal(store['y_2.png'], [[1, 2, 5, 7]])
    assert store.size('cls/x_1.JPEG') == (40, 20)
    out = tmp_path / 'back.json'
    exchange.export_reference_json(store, str(out))
    back = json.loads(out.read_text())
    assert back == ref
    # The reference's own loader finds every image in what we export.
    assert reference_loader_lookup(back, 'cls/x_1.JPEG') == ref['x_1']
    assert reference_loader_lookup(back, 'y_2.png') == ref['y_2']


def test_stem_keys_without_image_root_and_file_name_keys(tmp_path):
    ref_path = tmp_path / 'ref.json'
    ref_path.write_text(json.dumps({'n01_1': [[0, 0, 3, 3]]}))
    store = ProposalStore(
        exchange.import_reference_json(str(ref_path), str(tmp_path / 'a')))
    assert list(store.keys()) == ['n01_1'] and store.key_form == 'stem'
    # Exported as it came in (a stem is not cut again).
    exchange.export_reference_json(store, str(tmp_path / 'a.json'))
    assert json.loads((tmp_path / 'a.json').read_text()) == {
        'n01_1': [[0, 0, 3, 3]]
    }
    # File names with their extension (mmsoco's exports before): imported,
    # with or without an image root.
    root = tmp_path / 'imgs'
    root.mkdir()
    cv2.imwrite(str(root / 'n01_1.JPEG'), np.zeros((8, 8, 3), np.uint8))
    ref_path.write_text(json.dumps({'n01_1.JPEG': [[0, 0, 3, 3]]}))
    store = ProposalStore(
        exchange.import_reference_json(str(ref_path), str(tmp_path / 'b')))
    assert store.key_form == 'basename'
    store = ProposalStore(
        exchange.import_reference_json(
            str(ref_path), str(tmp_path / 'c'), img_root=str(root)))
    assert list(store.keys()) == ['n01_1.JPEG']


def test_a_stem_of_two_images_is_refused_both_ways(tmp_path):
    root = tmp_path / 'imgs'
    for rel in ('a/x.jpg', 'b/x.png'):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), np.zeros((8, 8, 3), np.uint8))
    ref_path = tmp_path / 'ref.json'
    ref_path.write_text(json.dumps({'x': [[0, 0, 3, 3]]}))
    with pytest.raises(
            ProposalStoreError, match=r"'x': matches a/x.jpg, b/x.png"):
        exchange.import_reference_json(
            str(ref_path), str(tmp_path / 's'), img_root=str(root))
    store = ProposalStore(
        write_store(
            str(tmp_path / 's'), [(k, np.array([[0, 0, 1, 1]]), (8, 8))
                                  for k in ('a/x.jpg', 'b/x.png')]))
    out = tmp_path / 'out.json'
    with pytest.raises(
            ProposalStoreError, match=r"'x': 'a/x.jpg' and 'b/x.png'"):
        exchange.export_reference_json(store, str(out))
    assert not out.exists()


def test_reference_json_import_checks_bounds_and_missing(tmp_path):
    root = tmp_path / 'imgs'
    root.mkdir()
    cv2.imwrite(str(root / 'a.png'), np.zeros((20, 40, 3), np.uint8))
    ref_path = tmp_path / 'ref.json'
    ref_path.write_text(json.dumps({'a': [[0, 0, 40, 19]]}))  # x2 = 41
    with pytest.raises(ProposalStoreError, match="'a.png'.*out of bounds"):
        exchange.import_reference_json(
            str(ref_path), str(tmp_path / 's'), img_root=str(root))
    ref_path.write_text(json.dumps({'gone': [[0, 0, 1, 1]]}))
    with pytest.raises(
            ProposalStoreError,
            match=f"1 image.*are not under {root}: 'gone'"):
        exchange.import_reference_json(
            str(ref_path), str(tmp_path / 's'), img_root=str(root))
    # Without an image root: the keys as given, sizes unknown.
    store = ProposalStore(
        exchange.import_reference_json(str(ref_path), str(tmp_path / 's')))
    assert list(store.keys()) == ['gone']
    assert store.size('gone') == (-1, -1)


def test_coco_results_round_trip(tmp_path):
    ann = dict(
        images=[
            dict(id=7, file_name='val/a.jpg', width=50, height=40),
            dict(id=9, file_name='val/b.jpg', width=30, height=30)
        ],
        annotations=[],
        categories=[])
    ann_path = tmp_path / 'ann.json'
    ann_path.write_text(json.dumps(ann))
    results = [
        dict(image_id=7, bbox=[2, 3, 10, 20], score=0.2),
        dict(image_id=7, bbox=[0, 0, 50, 40], score=0.9),
    ]
    res_path = tmp_path / 'res.json'
    res_path.write_text(json.dumps(results))
    store = ProposalStore(
        exchange.import_coco_results(
            str(res_path), str(ann_path), str(tmp_path / 'store')))
    # COCO's continuous convention: x2 = x + w. Highest score first.
    np.testing.assert_array_equal(store['val/a.jpg'],
                                  [[0, 0, 50, 40], [2, 3, 12, 23]])
    assert store['val/b.jpg'].shape == (0, 4)
    assert store.size('val/a.jpg') == (50, 40)
    out = tmp_path / 'out.json'
    exchange.export_coco_results(store, str(ann_path), str(out))
    back = json.loads(out.read_text())
    assert [(r['image_id'], r['bbox']) for r in back] == [(7, [0, 0, 50, 40]),
                                                          (7, [2, 3, 10, 20])]
    assert back[0]['score'] > back[1]['score']
    res_path.write_text(json.dumps([dict(image_id=3, bbox=[0, 0, 1, 1])]))
    with pytest.raises(ProposalStoreError, match=r'\[3\]'):
        exchange.import_coco_results(
            str(res_path), str(ann_path), str(tmp_path / 'x'))


def test_coco_export_of_a_stem_keyed_store_and_bad_inputs(tmp_path):
    ann = dict(
        images=[dict(id=7, file_name='val/a.jpg', width=50, height=40)],
        annotations=[],
        categories=[])
    ann_path = tmp_path / 'ann.json'
    ann_path.write_text(json.dumps(ann))
    # A reference JSON imported without an image root: keyed by stem.
    ref_path = tmp_path / 'ref.json'
    ref_path.write_text(json.dumps({'a': [[2, 3, 9, 19]]}))
    store = ProposalStore(
        exchange.import_reference_json(str(ref_path), str(tmp_path / 's')))
    assert store.key_form == 'stem'
    out = tmp_path / 'out.json'
    exchange.export_coco_results(store, str(ann_path), str(out))
    # Inclusive w = 9 -> COCO w = 10 (see the hand-worked mapping above).
    assert [(r['image_id'], r['bbox'])
            for r in json.loads(out.read_text())] == [(7, [2, 3, 10, 20])]
    # Bad inputs are named.
    res_path = tmp_path / 'res.json'
    res_path.write_text('[{"image_id": 7,')
    with pytest.raises(ProposalStoreError, match='res.json is not valid JSON'):
        exchange.import_coco_results(
            str(res_path), str(ann_path), str(tmp_path / 'x'))
    res_path.write_text(json.dumps([dict(image_id=7, score=0.5)]))
    with pytest.raises(
            ProposalStoreError,
            match=r'res.json: entry 0 is not a COCO result'):
        exchange.import_coco_results(
            str(res_path), str(ann_path), str(tmp_path / 'x'))
    unsized = tmp_path / 'unsized.json'
    unsized.write_text(
        json.dumps(dict(ann, images=[dict(id=7, file_name='val/a.jpg')])))
    res_path.write_text(json.dumps([]))
    with pytest.raises(
            ProposalStoreError,
            match=r"unsized.json: image\(s\) without .*'val/a.jpg'"):
        exchange.import_coco_results(
            str(res_path), str(unsized), str(tmp_path / 'x'))
    no_images = tmp_path / 'no_images.json'
    no_images.write_text(json.dumps(dict(annotations=[])))
    with pytest.raises(ValueError, match='no_images.json: key "images"'):
        exchange.export_coco_results(store, str(no_images), str(out))

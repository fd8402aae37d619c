"""Proposal recall by COCO object size, against hand-worked overlaps."""
import json
import math
import os.path as osp

import numpy as np
import pytest

from mmsoco.evaluation.proposal_recall import eval_proposal_recall
from mmsoco.proposals.store_writer import write_store

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _dataset(tmp_path):
    coco = dict(
        images=[
            dict(id=1, file_name='a.jpg', width=200, height=200),
            dict(id=2, file_name='b.jpg', width=200, height=200)
        ],
        annotations=[
            # small (area 100): proposal [0, 0, 10, 5] has IoU 50 / 100 = 0.5
            dict(id=1, image_id=1, bbox=[0, 0, 10, 10], area=100, iscrowd=0),
            # medium (area 2500): proposal [0, 0, 50, 40] -> IoU 0.8
            dict(id=2, image_id=1, bbox=[0, 0, 50, 50], area=2500, iscrowd=0),
            # large (area 10000): best proposal [100, 100, 200, 160]
            # -> IoU 6000 / 10000 = 0.6
            dict(
                id=3,
                image_id=2,
                bbox=[100, 100, 100, 100],
                area=10000,
                iscrowd=0),
            # crowd: ignored even though nothing covers it
            dict(id=4, image_id=2, bbox=[0, 0, 30, 30], area=900, iscrowd=1),
        ],
        categories=[dict(id=1, name='x')])
    path = tmp_path / 'coco.json'
    path.write_text(json.dumps(coco))
    return str(path)


def test_recall_by_size_hand_worked(tmp_path):
    coco = _dataset(tmp_path)
    store = write_store(
        str(tmp_path / 'store'), [
            ('a.jpg', np.array([[0, 0, 10, 5], [0, 0, 50, 40]]), (200, 200)),
            ('b.jpg', np.array([[100, 100, 200, 160], [0, 150, 10, 160]]),
             (200, 200)),
        ])
    r = eval_proposal_recall(store, coco)
    assert r['small'] == {'num_gt': 1, 'recall@0.5': 1.0, 'recall@0.7': 0.0}
    assert r['medium'] == {'num_gt': 1, 'recall@0.5': 1.0, 'recall@0.7': 1.0}
    assert r['large'] == {'num_gt': 1, 'recall@0.5': 1.0, 'recall@0.7': 0.0}
    assert r['all']['num_gt'] == 3
    assert r['all']['recall@0.5'] == pytest.approx(1.0)
    assert r['all']['recall@0.7'] == pytest.approx(1 / 3)
    assert r['proposals_per_image'] == 2.0
    r = eval_proposal_recall(store, coco, iou_thrs=(0.61, ))
    assert r['large']['recall@0.61'] == 0.0


def test_a_store_keyed_by_stem_is_looked_up_by_stem(tmp_path):
    """A reference JSON imported without an image root is keyed by file
    stem; recall finds its images (the same numbers as the relpath store
    above), not recall 0 for 'missing' images."""
    coco = _dataset(tmp_path)
    store = write_store(
        str(tmp_path / 'store'), [
            ('a', np.array([[0, 0, 10, 5], [0, 0, 50, 40]]), (200, 200)),
            ('b', np.array([[100, 100, 200, 160], [0, 150, 10, 160]]),
             (200, 200)),
        ],
        key_form='stem')
    r = eval_proposal_recall(store, coco, img_prefix='ignored/for/stems')
    assert r['missing_images'] == 0
    assert r['all']['recall@0.5'] == pytest.approx(1.0)
    assert r['all']['recall@0.7'] == pytest.approx(1 / 3)


def test_a_bad_coco_file_is_named(tmp_path):
    store = write_store(str(tmp_path / 'store'), [])
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        eval_proposal_recall(store, str(broken))
    no_anns = tmp_path / 'no_anns.json'
    no_anns.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match='no_anns.json: key "annotations"'):
        eval_proposal_recall(store, str(no_anns))


def test_missing_images_are_named_or_counted(tmp_path):
    coco = _dataset(tmp_path)
    store = write_store(
        str(tmp_path / 'store'),
        [('a.jpg', np.array([[0, 0, 50, 40]]), (200, 200))])
    with pytest.raises(KeyError, match="'b.jpg'"):
        eval_proposal_recall(store, coco)
    r = eval_proposal_recall(store, coco, allow_missing=True)
    assert r['missing_images'] == 1
    assert r['large']['recall@0.5'] == 0.0
    assert math.isclose(r['medium']['recall@0.5'], 1.0)


def test_tool_prints_the_table(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'eval_proposal_recall',
        osp.join(REPO, 'tools', 'analysis_tools', 'eval_proposal_recall.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    coco = _dataset(tmp_path)
    store = write_store(
        str(tmp_path / 'store'), [
            ('imgs/a.jpg', np.array([[0, 0, 50, 40]]), (200, 200)),
            ('imgs/b.jpg', np.array([[0, 0, 50, 40]]), (200, 200)),
        ])
    out = tmp_path / 'r.json'
    assert tool.main([store, coco, '--img-prefix', 'imgs', '--out',
                      str(out)]) == 0
    text = capsys.readouterr().out
    assert '| medium | 1 | 1.000 | 1.000 |' in text
    assert json.loads(out.read_text())['medium']['num_gt'] == 1
    assert tool.main([store, coco]) == 1  # keys lack the prefix
    assert "'a.jpg'" in capsys.readouterr().err


def test_a_size_without_objects_is_null_in_strict_json(tmp_path, capsys):
    """recall.json was written with a bare NaN (not JSON) for a size range
    without objects; now null, and n/a in the table."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'eval_proposal_recall',
        osp.join(REPO, 'tools', 'analysis_tools', 'eval_proposal_recall.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    coco = json.loads(open(_dataset(tmp_path)).read())
    coco['annotations'] = [a for a in coco['annotations'] if a['id'] != 1]
    (tmp_path / 'no_small.json').write_text(json.dumps(coco))
    store = write_store(
        str(tmp_path / 'store'), [
            ('a.jpg', np.array([[0, 0, 50, 40]]), (200, 200)),
            ('b.jpg', np.array([[0, 0, 50, 40]]), (200, 200)),
        ])
    out = tmp_path / 'recall.json'
    assert tool.main(
        [store,
         str(tmp_path / 'no_small.json'), '--out',
         str(out), '--quiet']) == 0
    assert '| small | 0 | n/a | n/a |' in capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f'{constant} is not JSON')

    result = json.loads(out.read_text(), parse_constant=refuse)
    assert result['small'] == {
        'num_gt': 0,
        'recall@0.5': None,
        'recall@0.7': None
    }
    assert result['medium']['recall@0.5'] == 1.0

"""tools/misc/make_mini_coco.py and mmsoco.datasets.mini_coco."""
import importlib.util
import json
import os
import os.path as osp

import pytest

from mmsoco.datasets.mini_coco import make_mini_coco, split_name

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _fake_coco(num_images=200):
    images = [
        dict(id=1000 + 7 * i, file_name=f'{i:012d}.jpg', width=64, height=48)
        for i in range(num_images)
    ]
    # image i has i % 3 annotations (some images have none)
    annotations = []
    for i, img in enumerate(images):
        for j in range(i % 3):
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img['id'],
                    category_id=1 + j,
                    bbox=[1, 2, 10, 12],
                    area=120,
                    iscrowd=0))
    return dict(
        info=dict(description='fake'),
        licenses=[],
        categories=[dict(id=1, name='a'),
                    dict(id=2, name='b')],
        images=images,
        annotations=annotations)


@pytest.fixture
def ann_file(tmp_path):
    path = tmp_path / 'instances_train2017.json'
    path.write_text(json.dumps(_fake_coco()))
    return str(path)


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_split_names():
    assert [split_name(f) for f in (0.01, 0.05, 0.1, 0.005)] == \
        ['1pct', '5pct', '10pct', '0.5pct']


def test_splits_are_seeded_nested_and_complete(ann_file, tmp_path):
    out = tmp_path / 'out'
    written = make_mini_coco(ann_file, str(out), seed=3)
    names = sorted(os.listdir(out))
    assert names == [
        'instances_train2017_10pct.json', 'instances_train2017_1pct.json',
        'instances_train2017_5pct.json'
    ]
    source = _fake_coco()
    ids = {}
    for pct, expected_num in ((1, 2), (5, 10), (10, 20)):
        sub = _load(out / f'instances_train2017_{pct}pct.json')
        img_ids = {img['id'] for img in sub['images']}
        assert len(img_ids) == expected_num
        assert img_ids <= {img['id'] for img in source['images']}
        # every annotation of a chosen image, and only those
        expected_anns = [
            a for a in source['annotations'] if a['image_id'] in img_ids
        ]
        assert sub['annotations'] == expected_anns
        assert sub['categories'] == source['categories']
        assert sub['info']['mmsoco_subset'] == dict(
            fraction=pct / 100,
            seed=3,
            num_images=expected_num,
            num_source_images=200)
        assert written[str(out / f'instances_train2017_{pct}pct.json'
                           )]['num_annotations'] == len(expected_anns)
        ids[pct] = img_ids
    assert ids[1] <= ids[5] <= ids[10]
    # same seed -> same files; another seed -> another split
    again = tmp_path / 'again'
    make_mini_coco(ann_file, str(again), seed=3)
    for name in names:
        assert _load(out / name) == _load(again / name)
    other = tmp_path / 'other'
    make_mini_coco(ann_file, str(other), fractions=[0.1], seed=4)
    assert {i['id'] for i in _load(other / names[0])['images']} != ids[10]
    assert not [n for n in os.listdir(out) if n.endswith('.tmp')]


def test_bad_inputs(tmp_path):
    missing = str(tmp_path / 'missing.json')
    with pytest.raises(FileNotFoundError, match='missing.json'):
        make_mini_coco(missing, str(tmp_path))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        make_mini_coco(str(broken), str(tmp_path))
    no_anns = tmp_path / 'no_anns.json'
    no_anns.write_text(json.dumps(dict(images=[], categories=[])))
    with pytest.raises(ValueError, match='no_anns.json: key "annotations"'):
        make_mini_coco(str(no_anns), str(tmp_path))
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(_fake_coco(10)))
    out = tmp_path / 'out'
    # The bad fraction comes second: refused before the first file.
    with pytest.raises(
            ValueError, match=r'fraction must be in \(0, 1\], got 1.5'):
        make_mini_coco(str(good), str(out), fractions=[0.1, 1.5])
    assert not out.exists() or not os.listdir(out)
    no_images = tmp_path / 'no_images.json'
    no_images.write_text(json.dumps(_fake_coco(0)))
    with pytest.raises(ValueError, match='no_images.json lists no images'):
        make_mini_coco(str(no_images), str(out))
    unnamed = _fake_coco(3)
    del unnamed['images'][1]['file_name']
    no_name = tmp_path / 'no_name.json'
    no_name.write_text(json.dumps(unnamed))
    with pytest.raises(
            ValueError, match=r'no_name.json: images\[1\] has no "file_name"'):
        make_mini_coco(str(no_name), str(out))


def test_command_line(ann_file, tmp_path, capsys):
    path = osp.join(REPO, 'tools', 'misc', 'make_mini_coco.py')
    spec = importlib.util.spec_from_file_location('make_mini_coco', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'cli'
    assert tool.main([ann_file, '--out', str(out), '--fractions', '0.05']) \
        == 0
    assert '10 of 200 images' in capsys.readouterr().out
    assert tool.main([str(tmp_path / 'nope.json'), '--out', str(out)]) == 1
    assert 'nope.json' in capsys.readouterr().err


def test_a_small_set_refuses_identical_splits(tmp_path, capsys):
    """A split has round(fraction * N) images, at least 1: on 40 images 1%
    (0.4 -> at least 1) and 2% (0.8 -> 1) would be the same file; refused,
    nothing written."""
    path = tmp_path / 'small.json'
    path.write_text(json.dumps(_fake_coco(num_images=40)))
    out = tmp_path / 'out'
    spec = importlib.util.spec_from_file_location(
        'make_mini_coco_tool',
        osp.join(REPO, 'tools', 'misc', 'make_mini_coco.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(
        [str(path), '--out',
         str(out), '--fractions', '0.01', '0.02', '0.1']) == 1
    err = capsys.readouterr().err
    assert f'{path} has 40 images: fractions 0.01 and 0.02 both select 1 ' \
        'image(s)' in err
    assert '--fractions' in err
    assert not out.exists() or not os.listdir(out)
    # the default 1/5/10% on 40 images: 1, 2 and 4 images, all distinct
    assert tool.main([str(path), '--out', str(out), '--quiet']) == 0
    assert [
        _load(out / f'instances_train2017_{n}pct.json')['info']
        ['mmsoco_subset']['num_images'] for n in (1, 5, 10)
    ] == [1, 2, 4]
    # 20 images: 1% and 5% are both one image
    path.write_text(json.dumps(_fake_coco(num_images=20)))
    assert tool.main([str(path), '--out', str(tmp_path / 'o2')]) == 1
    assert 'fractions 0.01 and 0.05 both select 1 image(s)' in \
        capsys.readouterr().err

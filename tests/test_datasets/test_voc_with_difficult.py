"""VOCDatasetWithDifficult: difficult boxes are training boxes (detectron2's
VOC recipe) and stay ignored in test mode (for the VOC metric)."""
import pytest
from mmengine.registry import DefaultScope

from mmsoco.datasets import VOCDatasetWithDifficult

XML = """<annotation>
  <size><width>100</width><height>80</height><depth>3</depth></size>
  <object><name>dog</name><difficult>0</difficult>
    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>50</xmax><ymax>60</ymax></bndbox>
  </object>
  <object><name>unicorn</name><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>
  </object>
  <object><name>cat</name><difficult>1</difficult>
    <bndbox><xmin>61</xmin><ymin>11</ymin><xmax>90</xmax><ymax>70</ymax></bndbox>
  </object>
</annotation>
"""


@pytest.fixture
def voc_root(tmp_path):
    year = tmp_path / 'VOC2007'
    (year / 'Annotations').mkdir(parents=True)
    (year / 'ImageSets' / 'Main').mkdir(parents=True)
    (year / 'Annotations' / '000001.xml').write_text(XML)
    (year / 'ImageSets' / 'Main' / 'trainval.txt').write_text('000001\n')
    return tmp_path


def _dataset(root, **kwargs):
    pipeline = [
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs')
    ]
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return VOCDatasetWithDifficult(
            data_root=str(root),
            ann_file='VOC2007/ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            pipeline=pipeline,
            **kwargs)


def test_difficult_boxes_are_trained_on(voc_root):
    sample = _dataset(voc_root)[0]['data_samples']
    # dog and the difficult cat (unknown class dropped), VOC's minus one
    assert sample.gt_instances.labels.tolist() == [11, 7]
    assert sample.gt_instances.bboxes.tensor.tolist() == [[10, 20, 49, 59],
                                                          [60, 10, 89, 69]]
    assert len(sample.ignored_instances) == 0


def test_test_mode_and_switch_off_keep_mmdet_behaviour(voc_root):
    for kwargs in (dict(test_mode=True), dict(train_on_difficult=False)):
        sample = _dataset(voc_root, **kwargs)[0]['data_samples']
        assert sample.gt_instances.labels.tolist() == [11]
        assert sample.ignored_instances.labels.tolist() == [7]

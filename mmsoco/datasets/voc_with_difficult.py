"""VOC detection dataset that trains on the difficult boxes.

The VOC fine-tuning recipe behind SoCo's peers' numbers (MoCo / PixPro,
detectron2; https://arxiv.org/abs/2106.02637, docs/method.md, fine-tuning)
trains on every annotated box, difficult ones included (detectron2's VOC
loader keeps them), and ignores them only in evaluation. mmdet's
``VOCDataset`` marks difficult boxes ``ignore_flag=1`` in training too, so
its pipeline moves them to ``ignored_instances`` and the detector never
sees them. This subclass keeps them as ordinary boxes when
``train_on_difficult`` is set and the dataset is not in test mode; the test
split keeps mmdet's behaviour (difficult -> ignored, as the VOC metric
needs).
"""
from typing import List
from xml.etree import ElementTree as ET

from mmdet.datasets import VOCDataset

from mmsoco.registry import DATASETS


def _is_difficult(obj: ET.Element) -> bool:
    flag = obj.find('difficult')
    return flag is not None and int(flag.text) == 1


@DATASETS.register_module()
class VOCDatasetWithDifficult(VOCDataset):
    """mmdet's ``VOCDataset``; difficult boxes are trained on.

    SoCo (https://arxiv.org/abs/2106.02637), transfer to VOC:
    docs/method.md section 5.2.

    Args:
        train_on_difficult (bool): Keep difficult boxes as ordinary training
            boxes (ignored only when ``test_mode``). Defaults to True.
        **kwargs: ``VOCDataset`` arguments.
    """

    def __init__(self, train_on_difficult: bool = True, **kwargs) -> None:
        self.train_on_difficult = train_on_difficult
        super().__init__(**kwargs)

    def _parse_instance_info(self,
                             raw_ann_info: ET.ElementTree,
                             minus_one: bool = True) -> List[dict]:
        instances = super()._parse_instance_info(raw_ann_info, minus_one)
        if self.test_mode or not self.train_on_difficult:
            return instances
        # the parent's instances, one per object of a known class, in order
        objects = [
            obj for obj in raw_ann_info.findall('object')
            if obj.find('name').text in self._metainfo['classes']
        ]
        for instance, obj in zip(instances, objects):
            x1, y1, x2, y2 = instance['bbox']
            too_small = self.bbox_min_size is not None and min(
                x2 - x1, y2 - y1) < self.bbox_min_size
            if _is_difficult(obj) and not too_small:
                instance['ignore_flag'] = 0
        return instances

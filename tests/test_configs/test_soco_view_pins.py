"""The views and box sampling of every SoCo recipe, pinned to the reference's
numbers (docs/reference_parity.md rows 7-9, 11-12, 15).

Each expected value is written here by hand from the authors' code, with the
place it comes from; the recipe's ``MultiViewBoxJitter`` is built from its
config, so a default the config leaves out counts too. Changing any of these
in ``configs/_base_/datasets/`` fails this test.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from mmsoco.datasets.transforms import MultiViewBoxJitter

RATIO = (3 / 4, 4 / 3
         )  # RandomResizedCropParams' default, transform_ops.py:203


def _whole(size):  # WholeImageResizedParams(image_size), transform.py:78
    return dict(kind='whole', size=(size, size))


def _crop(size, min_scale):  # RandomResizedCropParams(size, (crop, 1.))
    return dict(
        kind='crop', size=(size, size), scale=(min_scale, 1.0), ratio=RATIO)


#: Shared by every recipe.
COMMON = dict(
    num_boxes=4,  # --select_k 4, --padding_k 4 (tools/SoCo_*.sh:38,43)
    flip_prob=0.5,  # RandomHorizontalFlip*(p=0.5), transform_ops.py:293,376
    max_draws=5,  # --max_tries default 5, option.py:136
    least_common=2,  # max(padding_k // 2, 1), dataset.py:530
    resizer='pil_bilinear',  # PIL bilinear, transform_ops.py:175,272
)
#: V1's boxes jittered, p 0.5, ratio 0.1 (tools/SoCo_FPN_*.sh:41-42;
#: jitter_props on V1's proposals only, dataset.py:578-579, 864-865).
FPN_JITTER = dict(jitter_views=(0, ), jitter_prob=0.5, jitter_ratio=0.1)
#: V2 / V3 cutout, p 0.5, 10-30 % of the box (tools/SoCo_FPN_100ep.sh:51-53,
#: dataset.py:780-781).
FPN_CUTOUT = dict(cutout_views=(1, 2), cutout_prob=0.5, cutout_area=(0.1, 0.3))
NO_CUTOUT = dict(cutout_views=())
#: --crop 0.5, image_size 224, V3 image_size // 2 = 112 (tools/SoCo_FPN_*.sh:19,
#: option.py:37, transform.py:80).
FPN_VIEWS = dict(
    views=[_whole(224), _crop(224, 0.5),
           _crop(112, 0.5)],
    view_pairs=[(0, 1), (0, 2)])

EXPECTED = {
    # ImageAsymBboxAwareMultiJitter1Cutout (tools/SoCo_FPN_100ep.sh:26)
    'soco_r50fpn_100e.py':
    dict(**FPN_VIEWS, **FPN_JITTER, **FPN_CUTOUT),
    # ImageAsymBboxAwareMultiJitter1, no cutout (tools/SoCo_FPN_400ep.sh:26)
    'soco_r50fpn_400e.py':
    dict(**FPN_VIEWS, **FPN_JITTER, **NO_CUTOUT),
    'soco_r50fpn_400e_coco.py':
    dict(**FPN_VIEWS, **FPN_JITTER, **NO_CUTOUT),
    # ImageAsymBboxAwareMulti3ResizeExtraJitter1: V3 at --image3_size 192,
    # V4 = Resize(--image4_size 112) of V2 (tools/SoCo_FPN_Star_400ep.sh:
    # 26,54-55; transform.py:105-106; dataset.py:862), no cutout.
    'soco-star_r50fpn_400e.py':
    dict(
        views=[
            _whole(224),
            _crop(224, 0.5),
            _crop(192, 0.5),
            dict(kind='resize_of', source=1, size=(112, 112))
        ],
        view_pairs=[(0, 1), (0, 2), (0, 3)],
        **FPN_JITTER,
        **NO_CUTOUT),
}
#: ImageAsymBboxCutout: V1 whole 224, V2 crop 224 with --crop 0.6, one pair,
#: no jitter (dataset.py:457-480), cutout on V2 (dataset.py:500), p 0.5,
#: 10-30 % (tools/SoCo_C4_100ep.sh:20,27,44-46).
C4 = dict(
    views=[_whole(224), _crop(224, 0.6)],
    view_pairs=[(0, 1)],
    jitter_views=(),
    cutout_views=(1, ),
    cutout_prob=0.5,
    cutout_area=(0.1, 0.3))
EXPECTED.update({'soco_r50c4_100e.py': C4, 'soco_r50c4_400e.py': C4})
EXPECTED.update({
    name.replace('.py', '_fast.py'): spec
    for name, spec in EXPECTED.items()
})
#: The warm starts keep the 400-epoch recipe's data (docs/method.md 4.5).
EXPECTED.update({
    name: dict(**FPN_VIEWS, **FPN_JITTER, **NO_CUTOUT)
    for name in ('soco-warm_r50fpn_12e.py', 'soco-warm_r50fpn_12e_coco.py',
                 'soco-warm_r50fpn_24e_coco.py',
                 'soco-warm_swin-t-fpn_12e_coco.py')
})


def _views_transform(path):
    cfg = Config.fromfile(path)
    steps = [
        step for step in cfg.train_dataloader.dataset.pipeline
        if step['type'] == 'MultiViewBoxJitter'
    ]
    assert len(steps) == 1
    kwargs = {k: v for k, v in steps[0].items() if k != 'type'}
    return MultiViewBoxJitter(**kwargs)


def test_every_imagenet_and_coco_recipe_is_pinned():
    import glob
    recipes = {
        osp.basename(p)
        for p in glob.glob('configs/soco/*.py') if 'demo' not in p
    }
    assert recipes == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_views_and_boxes_are_the_references(name):
    transform = _views_transform(f'configs/soco/{name}')
    expected = dict(COMMON, **EXPECTED[name])
    for key, value in expected.items():
        got = getattr(transform, key)
        if key == 'views':
            got = [{k: v for k, v in view.items()} for view in got]
        if key == 'view_pairs':
            got = [tuple(pair) for pair in got]
        if isinstance(value, tuple):
            got = tuple(got)
        assert got == value, (name, key, got, value)

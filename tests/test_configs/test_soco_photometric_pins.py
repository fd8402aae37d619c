"""The decoding and the photometric augmentation of every SoCo recipe, pinned
to the reference's (docs/reference_parity.md rows 5a and 14).

Written by hand from the authors' code: ``contrast/data/transform.py``
builds, for every ``aug_type`` the scripts use, ``transform_post_1`` for V1
and ``transform_post_2`` for every other view, each view its own call, after
the crops and flips (``dataset.py``: C4's V1 through ``transform[3]``, V2
through ``[4]``, lines 497-498; FPN's V1 through ``[5]``, V2 and V3 through
``[6]``, lines 637-639; SoCo*'s V1 through ``[6]``, V2, V3 and V4 through
``[7]``, lines 937-940); images come from
``PIL.Image.open(f).convert('RGB')`` with the EXIF tag ignored
(``dataset.py:296-306``). Each step is built from the recipe's config, so a
default the config leaves out counts too.
"""
import pytest
from mmengine.config import Config
from test_configs.test_soco_view_pins import EXPECTED

from mmsoco.registry import TRANSFORMS

#: RandomApply([ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
#: RandomGrayscale(p=0.2): both chains open with these.
COLOUR = [
    ('ColorJitter',
     dict(
         brightness=0.4,
         contrast=0.4,
         saturation=0.2,
         hue=0.1,
         prob=0.8,
         backend='pil')),
    ('RandomGrayscale', dict(prob=0.2, backend='pil')),
]
#: GaussianBlur: sigma ~ U(0.1, 2.0) (transform.py:16-22).
BLUR_SIGMA = (0.1, 2.0)
#: transform_post_1: blur always, no solarize.
V1_CHAIN = COLOUR + [
    ('RandomGaussianBlur', dict(prob=1.0, sigma=BLUR_SIGMA, backend='pil')),
]
#: transform_post_2: blur p 0.1, ImageOps.solarize (threshold 128) p 0.2.
OTHER_CHAIN = COLOUR + [
    ('RandomGaussianBlur', dict(prob=0.1, sigma=BLUR_SIGMA, backend='pil')),
    ('RandomSolarize', dict(prob=0.2, threshold=128, backend='pil')),
]


def _pipeline(name):
    return Config.fromfile(f'configs/soco/{name}').train_dataloader.dataset \
        .pipeline


def _chains_by_view(pipeline):
    """{view index: [(type, built transform)]} from the ApplyToViews steps,
    in the order they run."""
    chains = {}
    for step in pipeline:
        if step['type'] != 'ApplyToViews':
            continue
        for view in step['views']:
            assert view not in chains, f'view {view} augmented twice'
            chains[view] = [(spec['type'], TRANSFORMS.build(spec))
                            for spec in step['transforms']]
    return chains


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_decoding_is_the_references(name):
    load = TRANSFORMS.build(_pipeline(name)[0])
    assert type(load).__name__ == 'LoadImageWithPIL'
    assert load.exif_orientation is False


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_photometric_chains_are_the_references(name):
    pipeline = _pipeline(name)
    types = [step['type'] for step in pipeline]
    num_views = len(EXPECTED[name]['views'])
    chains = _chains_by_view(pipeline)
    # Every view once; after the views are cut and flipped, before packing.
    assert sorted(chains) == list(range(num_views))
    first = types.index('ApplyToViews')
    assert types.index('MultiViewBoxJitter') < first
    assert types[-1] == 'PackSoCoInputs'
    for view, chain in chains.items():
        expected = V1_CHAIN if view == 0 else OTHER_CHAIN
        assert [t for t, _ in chain] == [t for t, _ in expected], (name, view)
        for (kind, built), (_, settings) in zip(chain, expected):
            got = {key: getattr(built, key) for key in settings}
            if 'sigma' in got:
                got['sigma'] = tuple(got['sigma'])
            assert got == settings, (name, view, kind)

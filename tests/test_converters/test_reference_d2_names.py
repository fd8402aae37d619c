"""soco2detectron2's weights land in the layers the authors' converter puts
them in (docs/reference_parity.md row 28).

The authors' converter (``converter_detectron2/convert_detectron2_Head.py``)
writes short names, e.g. ``res2.0.conv1.norm.weight``, and sets
``matching_heuristics``: detectron2 then loads each checkpoint tensor into the
model parameter whose name ends with it. mmsoco writes detectron2's full names.
Here the authors' renaming rules are restated (not run: their code is not
vendored) and applied to the reference model's parameter names; each short
name must pick out, by that suffix rule, exactly the full name mmsoco writes
for the same tensor.
"""
import re

import torchvision

from mmsoco.converters import detectron2_key

FPN_START, FPN_NUM_OUTS = 2, 4  # the FPN recipes' converter arguments


def reference_encoder_names():
    """The reference's ResNet-50 parameter names: torchvision's layout
    (``contrast/resnet.py``) without the classifier."""
    return [
        k for k in torchvision.models.resnet50().state_dict()
        if not k.startswith('fc.') and not k.endswith('num_batches_tracked')
    ]


def reference_neck_names():
    """mmcv ConvModule names of the reference's FPN (``contrast/models/
    fpn.py``): a conv without bias and a BN per lateral / output conv."""
    bn = ('weight', 'bias', 'running_mean', 'running_var')
    names = []
    for kind in ('lateral_convs', 'fpn_convs'):
        for i in range(FPN_NUM_OUTS):
            names.append(f'{kind}.{i}.conv.weight')
            names += [f'{kind}.{i}.bn.{p}' for p in bn]
    return names


def reference_head_names():
    """``FastRCNNConvFCHead``: conv{k} (no bias), bn{k}, ac{k}, fc1."""
    bn = ('weight', 'bias', 'running_mean', 'running_var')
    names = []
    for k in range(1, 5):
        names.append(f'conv{k}.weight')
        names += [f'bn{k}.{p}' for p in bn]
    return names + ['fc1.weight', 'fc1.bias']


def authors_short_name(part: str, name: str) -> str:
    """The authors' converter's renaming, restated: stem / res stages /
    ``conv.norm`` / ``shortcut`` for the encoder; ``fpn_lateral`` /
    ``fpn_output`` numbered from ``start`` for the neck; ``box_head.`` with
    ``bn{k}`` -> ``conv{k}.norm`` for the head."""
    if part == 'encoder':
        if 'layer' not in name:
            name = 'stem.' + name
        for i in range(1, 5):
            name = name.replace(f'layer{i}', f'res{i + 1}')
        for c in (1, 2, 3):
            name = name.replace(f'bn{c}', f'conv{c}.norm')
        return name.replace('downsample.0',
                            'shortcut').replace('downsample.1',
                                                'shortcut.norm')
    if part == 'neck':
        for i in range(FPN_NUM_OUTS):
            level = FPN_START + i
            name = name.replace(f'lateral_convs.{i}.conv',
                                f'fpn_lateral{level}')
            name = name.replace(f'lateral_convs.{i}.bn',
                                f'fpn_lateral{level}.norm')
            name = name.replace(f'fpn_convs.{i}.conv', f'fpn_output{level}')
            name = name.replace(f'fpn_convs.{i}.bn', f'fpn_output{level}.norm')
        return name
    name = re.sub(r'^bn(\d)', r'conv\1.norm', name)
    return 'box_head.' + name


def mmsoco_name(part: str, name: str) -> str:
    """The same tensor in mmsoco's pretrained detector (mmdet names)."""
    if part == 'encoder':
        return 'backbone.' + name
    if part == 'neck':
        return 'neck.' + name
    match = re.match(r'^(conv|bn)(\d)\.(.*)$', name)
    if match:
        kind, k, param = match.groups()
        sub = 'conv' if kind == 'conv' else 'bn'
        return f'roi_head.bbox_head.shared_convs.{int(k) - 1}.{sub}.{param}'
    return 'roi_head.bbox_head.shared_fcs.0.' + name.split('.', 1)[1]


def suffix_matches(short: str, full_names):
    return [
        full for full in full_names
        if full == short or full.endswith('.' + short)
    ]


def test_every_authors_name_finds_the_tensor_mmsoco_writes():
    parts = [('encoder', reference_encoder_names()),
             ('neck', reference_neck_names()),
             ('head', reference_head_names())]
    pairs = [(authors_short_name(part, name),
              detectron2_key(mmsoco_name(part, name), 'fpn'))
             for part, names in parts for name in names]
    ours = [full for _, full in pairs]
    assert None not in ours and len(set(ours)) == len(ours)
    assert len(pairs) == 265 + 40 + 22
    for short, full in pairs:
        # The suffix rule picks exactly mmsoco's name for the same tensor.
        assert suffix_matches(short, ours) == [full], short
    # A sample, worked by hand.
    by_short = dict(pairs)
    assert by_short['res2.0.conv1.norm.weight'] == \
        'backbone.bottom_up.res2.0.conv1.norm.weight'
    assert by_short['fpn_output5.norm.running_var'] == \
        'backbone.fpn_output5.norm.running_var'
    assert by_short['box_head.conv4.norm.bias'] == \
        'roi_heads.box_head.conv4.norm.bias'
    assert by_short['box_head.fc1.weight'] == 'roi_heads.box_head.fc1.weight'

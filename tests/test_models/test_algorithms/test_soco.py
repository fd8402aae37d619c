"""SoCo: the loss against an independent oracle, batching, key layout, target.

The oracle (``soco_oracle.py``) recomputes every directed loss term from the
reference's algorithm in train mode (BN batch statistics included), so a
fault in box offsets, box sets, levels, BN batches, target or predictor use
changes the model's numbers and fails here.
"""
import copy

import pytest
import torch
from mmengine.config import Config

import mmsoco.models  # noqa: F401
from mmsoco.registry import MODELS
from mmsoco.structures import SoCoDataSample
from soco_oracle import oracle_losses

PAIRS = [(0, 1), (0, 2)]
#: sqrt-area bounds small enough for 64 px views to use all four levels.
SMALL_RANGES = (16, 32, 48, 62)


def _model_cfg(head_batching='per_level', **extractor):
    cfg = Config.fromfile('configs/_base_/models/soco_r18fpn.py').model
    cfg.data_preprocessor = None
    cfg.head_batching = head_batching
    cfg.projector.hid_channels = 64
    cfg.predictor.hid_channels = 64
    cfg.roi_extractor.update(extractor)
    return cfg


_BUILT = {}


def _build(head_batching='per_level', **extractor):
    """A fresh copy of the tiny model (built and initialised once per
    setting: building dominates the run time of these tests)."""
    key = (head_batching, tuple(sorted(extractor.items())))
    if key not in _BUILT:
        torch.manual_seed(0)
        model = MODELS.build(_model_cfg(head_batching, **extractor))
        model.init_weights()
        _BUILT[key] = model
    return copy.deepcopy(_BUILT[key]).train()


#: View sizes. V3 is 56 px: ResNet-18 + FPN halves it to 28, 14, 7 (P2, P3
#: at 1/4, 1/8), then 4 (P4) and 2 (P5), each stride-2 layer rounding up, so
#: its P4 and P5 boxes scale by 4/56 and 2/56, not 1/16 and 1/32 (the 112-px
#: view's 4 x 4 P5, halved).
VIEW_SIZES = (64, 64, 56)


def _inputs(batch=3, sizes=VIEW_SIZES, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, s, s, generator=gen) for s in sizes]


def same_id_matches(ids_first, ids_second):
    """Every (i, j) with the same id: the reference's correspondence."""
    return torch.tensor([[i, j] for i, a in enumerate(ids_first)
                         for j, b in enumerate(ids_second) if a == b],
                        dtype=torch.long).view(-1, 2)


# Per pair: the first view's and the second view's (box, id) sets, K = 4,
# with duplicates (padding) and ids present on one side only, in view pixels
# (V3's in its 56 px). Sizes spread over the four SMALL_RANGES levels in
# every view, V3 included (its P4 and P5 are where the feature scale is not
# 1 / stride).
SETS = [
    ([([0, 0, 12, 12], 1), ([10, 10, 40, 40], 2), ([4, 4, 60, 64], 3),
      ([10, 10, 40, 40], 2)], [([0, 0, 30, 30], 1), ([4, 4, 50, 50], 2),
                               ([2, 2, 14, 14], 4), ([0, 0, 30, 30], 1)]),
    ([([5, 5, 30, 40], 5), ([2, 8, 40, 30], 6), ([0, 0, 60, 60], 7),
      ([5, 5, 30, 40], 5)], [([0, 0, 14, 14], 5), ([8, 4, 30, 31], 6),
                             ([1, 1, 41, 41], 6), ([3, 3, 55, 55], 7)]),
]
#: Per image, (pair, side, row) -> another id, so the images have different
#: numbers of matches (pair 0: 4, 6, 3; pair 1: 5, 6, 4): a loss normalised
#: over the whole batch instead of per image then differs from the oracle.
#: Image 1 gets more matches, image 2 fewer.
ID_CHANGES = [{}, {(0, 1, 2): 2, (1, 1, 2): 5}, {(0, 0, 3): 3, (1, 1, 3): 9}]


def _ids(b, p, side):
    ids = [i for _, i in SETS[p][side]]
    for (pair, s, row), new in ID_CHANGES[b % len(ID_CHANGES)].items():
        if (pair, s) == (p, side):
            ids[row] = new
    return torch.tensor(ids)


def _samples(batch=3, big_box=False):
    samples = []
    for b in range(batch):
        s = SoCoDataSample(
            metainfo=dict(view_pairs=PAIRS, img_path=f'img{b}.jpg'))
        bboxes, ids, matches = [], [], []
        for p, sets in enumerate(SETS):
            sides = []
            for side, view in enumerate(PAIRS[p]):
                boxes = torch.tensor([box for box, _ in sets[side]],
                                     dtype=torch.float32)
                # each image its own boxes: a lost per-image offset shows
                boxes = (boxes + 2 * b).clamp(max=VIEW_SIZES[view])
                sides.append((boxes, _ids(b, p, side)))
            if big_box and p == 0:  # 64x64 on both sides: above 62, dropped
                sides = [(torch.cat([bx,
                                     torch.tensor([[0., 0., 64., 64.]])]),
                          torch.cat([i, torch.tensor([8])]))
                         for bx, i in sides]
            bboxes.append([sides[0][0], sides[1][0]])
            ids.append([sides[0][1], sides[1][1]])
            matches.append(
                same_id_matches(ids[-1][0].tolist(), ids[-1][1].tolist()))
        s.pair_bboxes, s.pair_proposal_ids, s.pair_matches = bboxes, ids, \
            matches
        samples.append(s)
    return samples


def _total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def _online_grads(model):
    return {
        name: p.grad.clone()
        for name, p in model.named_parameters()
        if p.grad is not None and not name.startswith('target.')
    }


def test_loss_and_gradients_equal_the_oracle_in_train_mode():
    ranges = SMALL_RANGES
    model = _build(scale_ranges=ranges)
    oracle_model = copy.deepcopy(model)
    inputs, samples = _inputs(), _samples()
    losses = model(inputs, samples, mode='loss')
    expected = oracle_losses(oracle_model, inputs, samples, ranges=ranges)
    assert set(expected) == {k for k in losses if k.startswith('loss')}
    for name, value in expected.items():
        assert torch.allclose(
            losses[name], value, atol=1e-5,
            rtol=0), (name, float(losses[name]), float(value))
    _total(losses).backward()
    sum(expected.values()).backward()
    ours, theirs = _online_grads(model), _online_grads(oracle_model)
    assert ours.keys() == theirs.keys() and len(ours) > 0
    for name in ours:
        assert torch.allclose(
            ours[name], theirs[name], atol=1e-6, rtol=1e-3), name
    # The BN statistics the two runs left behind match too (same batches).
    for (name, a), b in zip(model.named_buffers(), oracle_model.buffers()):
        if 'running' in name:
            assert torch.allclose(a, b, atol=1e-6), name


def test_oracle_terms_are_not_trivial():
    """The oracle case exercises what it is meant to: all four levels (V3's
    too, whose P4 / P5 scale is not 1 / stride), per-image differences in
    boxes and in match counts, and terms far from each other."""
    levels = set()
    from soco_oracle import reference_level
    for first, second in SETS:
        for box, _ in first + second:
            levels.add(reference_level(box, SMALL_RANGES))
    assert levels == {0, 1, 2, 3}
    v3_levels = {
        reference_level(box.tolist(), SMALL_RANGES)
        for sample in _samples()
        for box in sample.pair_bboxes[1][1]
    }
    assert v3_levels == {0, 1, 2, 3}
    model = _build(scale_ranges=SMALL_RANGES)
    p5 = model.neck(model.backbone(_inputs()[2]))[3]
    assert tuple(p5.shape[-2:]) == (2, 2)  # 56 px -> 2 x 2, not 56/32
    counts = [[len(m) for m in sample.pair_matches] for sample in _samples()]
    assert counts == [[4, 5], [6, 6], [3, 4]]
    losses = oracle_losses(
        _build(scale_ranges=SMALL_RANGES),
        _inputs(),
        _samples(),
        ranges=SMALL_RANGES)
    values = sorted(float(v.detach()) for v in losses.values())
    assert values[-1] - values[0] > 1e-3


def _c4_cfg():
    cfg = Config.fromfile('configs/_base_/models/soco_r50c4.py').model
    cfg.data_preprocessor = None
    bn = dict(type='BN', requires_grad=True)
    # A ResNet-18-sized C4 twin keeps the test fast; the layout is the same.
    cfg.backbone.update(depth=18, norm_cfg=bn)
    cfg.shared_head.update(depth=18, norm_cfg=bn)
    cfg.roi_extractor.out_channels = 256
    cfg.projector.update(
        in_channels=512, hid_channels=64, norm_cfg=dict(type='BN1d'))
    cfg.predictor.update(hid_channels=64, norm_cfg=dict(type='BN1d'))
    return cfg


def _c4_samples():
    samples = _samples(big_box=True)  # C4 keeps every box, 64 px ones too
    for s in samples:
        s.set_metainfo(dict(view_pairs=[(0, 1)]))
        for key in ('pair_bboxes', 'pair_proposal_ids', 'pair_matches'):
            s.set_field(s.get(key)[:1], key)
    return samples


def test_c4_loss_equals_the_oracle_in_train_mode():
    torch.manual_seed(0)
    model = MODELS.build(_c4_cfg())
    model.init_weights()
    keys = list(model.state_dict())
    assert {k.split('.')[0]
            for k in keys} == {
                'backbone', 'shared_head', 'projector', 'predictor', 'target'
            }
    assert 'shared_head.layer4.0.conv1.weight' in keys
    assert 'target.shared_head.layer4.1.bn2.weight' in keys
    # res5 is the backbone's last stage: zero-init residual BNs like it.
    assert model.shared_head.layer4[0].bn2.weight.abs().sum() == 0
    samples = _c4_samples()
    inputs = _inputs()[:2]
    oracle_model = copy.deepcopy(model)
    fast = copy.deepcopy(model)
    fast.head_batching = 'mixed_levels'
    losses = model(inputs, samples, mode='loss')
    expected = oracle_losses(oracle_model, inputs, samples, c4=True)
    assert losses['dropped_boxes'].item() == 0
    for name, value in expected.items():
        assert torch.allclose(losses[name], value, atol=1e-5), name
    # One level and one pair: the fast batching is the same computation
    # for C4, in training mode too (what configs/soco/soco_r50c4_*_fast.py
    # say of themselves).
    fast_losses = fast(inputs, samples, mode='loss')
    for name, value in expected.items():
        assert torch.allclose(fast_losses[name], value, atol=1e-5), name


def test_fast_batching_same_features_different_bn_batches():
    """'mixed_levels' keeps each box's RoI features (equal outputs once BN
    uses fixed statistics), but its train-mode BN batches differ."""
    ref, fast = _build(), _build('mixed_levels')
    fast.load_state_dict(ref.state_dict())
    inputs, samples = _inputs(), _samples()
    with torch.no_grad():
        a = ref.eval()(inputs, samples, mode='loss')
        b = fast.eval()(inputs, samples, mode='loss')
        for name in a:
            assert torch.allclose(a[name], b[name], atol=1e-5), name
        a = ref.train()(inputs, samples, mode='loss')
        b = fast.train()(inputs, samples, mode='loss')
    assert not torch.allclose(a['loss_v0_v1'], b['loss_v0_v1'], atol=1e-4)


def test_head_batching_is_checked():
    with pytest.raises(ValueError, match='head_batching'):
        _build('all_levels')


def test_state_dict_keys_follow_the_contract():
    model = _build()
    keys = list(model.state_dict())
    assert {k.split('.')[0]
            for k in keys} == {
                'backbone', 'neck', 'bbox_head', 'projector', 'predictor',
                'target'
            }
    assert {k.split('.')[1]
            for k in keys if k.startswith('target.')
            } == {'backbone', 'neck', 'bbox_head', 'projector', 'steps'}
    online = {k for k in keys if not k.startswith(('target.', 'predictor.'))}
    target = {k[len('target.'):] for k in keys if k.startswith('target.')}
    assert online == target - {'steps'}
    head = sorted({
        '.'.join(k.split('.')[1:3])
        for k in keys if k.startswith('bbox_head.')
    })
    assert head == [
        'shared_convs.0', 'shared_convs.1', 'shared_convs.2', 'shared_convs.3',
        'shared_fcs.0'
    ]
    assert 'bbox_head.shared_convs.0.bn.num_batches_tracked' in keys
    assert 'projector.linear1.weight' in keys
    assert 'predictor.bn1.running_mean' in keys


def test_target_starts_as_online_copy_and_gets_no_gradient():
    model = _build()
    state = model.state_dict()
    for k, v in state.items():
        if k.startswith('target.') and k != 'target.steps':
            assert torch.equal(v, state[k[len('target.'):]]), k
    assert all(not p.requires_grad for p in model.target.parameters())
    losses = model(_inputs(), _samples(), mode='loss')
    assert set(losses) == {
        'loss_v0_v1', 'loss_v1_v0', 'loss_v0_v2', 'loss_v2_v0',
        'dropped_boxes', 'proj_std', 'cross_image_cos'
    }
    _total(losses).backward()
    assert all(p.grad is None for p in model.target.parameters())
    assert model.predictor.linear1.weight.grad is not None
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_dropped_boxes_form_no_pair():
    model = _build(scale_ranges=SMALL_RANGES)
    inputs = _inputs()
    with_big = model(inputs, _samples(big_box=True), mode='loss')
    assert with_big['dropped_boxes'].item() == 6  # 3 images x 2 views
    expected = oracle_losses(
        model, inputs, _samples(big_box=True), ranges=SMALL_RANGES)
    for name, value in expected.items():
        assert torch.allclose(with_big[name], value, atol=1e-5), name
    # Clamping instead keeps them, which changes the (0, 1) terms.
    clamp = _build(oversize='clamp', scale_ranges=SMALL_RANGES)
    clamped = clamp(inputs, _samples(big_box=True), mode='loss')
    assert clamped['dropped_boxes'].item() == 0
    assert not torch.allclose(clamped['loss_v0_v1'], with_big['loss_v0_v1'])


def test_update_target_follows_the_schedule():
    model = _build()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.5)
    before = model.target.backbone.conv1.weight.clone()
    model.update_target(10)
    model.update_target(10)
    model.update_target(10)  # the third optimiser step of 10
    assert int(model.target.steps) == 3
    before_3 = before.clone()
    for step in (1, 2, 3):
        tau = 1 - 0.01 * (torch.cos(torch.tensor(torch.pi * step / 10)) +
                          1) / 2
        before_3 = tau * before_3 + (1 - tau) * model.backbone.conv1.weight
    assert torch.allclose(
        model.target.backbone.conv1.weight, before_3, atol=1e-6)


def test_bad_matches_name_the_image():
    model = _build()
    samples = _samples()
    samples[1].pair_matches[1] = torch.tensor([[9, 0]])
    with pytest.raises(IndexError, match='image 1'):
        model(_inputs(), samples, mode='loss')


def test_needs_exactly_one_head_with_a_type():
    cfg = _model_cfg()
    cfg.shared_head = copy.deepcopy(cfg.bbox_head)
    with pytest.raises(ValueError):
        MODELS.build(cfg)
    cfg = _model_cfg()
    cfg.bbox_head.pop('type')
    with pytest.raises(KeyError, match='bbox_head needs a type'):
        MODELS.build(cfg)


def test_tensor_mode_gives_the_projections_of_every_box_set():
    model = _build().eval()
    inputs, samples = _inputs(), _samples()
    with torch.no_grad():
        feats = model(inputs, samples, mode='tensor')
        assert set(feats) == {(0, 0), (0, 1), (1, 0), (1, 1)}
        assert all(f.shape == (3 * 4, 64 * 2) for f in feats.values())
        # the online projector's output for the (V1, V2) boxes of image 1
        oracle = oracle_losses  # noqa: F841  (same modules, eval mode)
        x = model.neck(model.backbone(inputs[0]))
        rois = torch.cat(
            [torch.full((4, 1), 1.), samples[1].pair_bboxes[0][0]], dim=1)
        levels = model.roi_extractor.assign(rois)
        own = model.roi_extractor(x, rois, levels=levels, view_size=(64, 64))
        expected = model.projector(model.bbox_head(own))
    assert torch.allclose(feats[(0, 0)][4:8], expected, atol=1e-5)


def test_collapse_read_outs_of_the_online_projections():
    model = _build()
    losses = model(_inputs(), _samples(), mode='loss')
    d = model.projector.out_channels
    # healthy at init: spread, well below the collapsed values
    assert 0.2 / d**0.5 < losses['proj_std'] < 1.5 / d**0.5
    assert losses['cross_image_cos'] < 0.9
    with torch.no_grad():  # a projector with a constant output: collapsed
        model.projector.linear2.weight.zero_()
        model.projector.linear2.bias.fill_(1.0)
    collapsed = model(_inputs(), _samples(), mode='loss')
    assert collapsed['proj_std'] < 1e-6
    assert collapsed['cross_image_cos'] == pytest.approx(1.0, abs=1e-6)

"""SoCo: key layout, symmetric loss over matched boxes, dropped boxes, target."""
import copy

import pytest
import torch
from mmengine.config import Config

import mmsoco.models  # noqa: F401
from mmsoco.registry import MODELS
from mmsoco.structures import SoCoDataSample

PAIRS = [(0, 1), (0, 2)]


def _model_cfg(**extractor):
    cfg = Config.fromfile('configs/_base_/models/soco_r18fpn.py').model
    cfg.data_preprocessor = None
    cfg.projector.hid_channels = 64
    cfg.predictor.hid_channels = 64
    cfg.roi_extractor.update(extractor)
    return cfg


def _build(**extractor):
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(**extractor))
    model.init_weights()
    return model


def _inputs(batch=2, sizes=(64, 64, 32), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, s, s, generator=gen) for s in sizes]


def _samples(batch=2, extra_big_box=False):
    samples = []
    for b in range(batch):
        s = SoCoDataSample(
            metainfo=dict(view_pairs=PAIRS, img_path=f'img{b}.jpg'))
        v0 = [[0, 0, 20, 20], [10, 10, 60, 60], [5, 5, 30, 40], [2, 8, 40, 30]]
        v1 = [[0, 0, 30, 30], [4, 4, 64, 64]]
        v2 = [[0, 0, 16, 16], [8, 4, 30, 31]]
        m01 = [[0, 0], [1, 1]]
        m02 = [[2, 0], [3, 1]]
        if extra_big_box:  # 64 px boxes: above the last range (62) below
            v0.append([0, 0, 64, 64])
            v1.append([0, 0, 64, 64])
            m01.append([4, 2])
        s.bboxes = [torch.tensor(v, dtype=torch.float32) + b
                    for v in (v0, v1, v2)]
        s.pair_matches = [torch.tensor(m01), torch.tensor(m02)]
        samples.append(s)
    return samples


def _total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_state_dict_keys_follow_the_contract():
    model = _build()
    keys = list(model.state_dict())
    assert {k.split('.')[0] for k in keys} == {
        'backbone', 'neck', 'bbox_head', 'projector', 'predictor', 'target'
    }
    assert {k.split('.')[1] for k in keys if k.startswith('target.')} == {
        'backbone', 'neck', 'bbox_head', 'projector'
    }
    online = {k for k in keys if not k.startswith(('target.', 'predictor.'))}
    target = {k[len('target.'):] for k in keys if k.startswith('target.')}
    assert online == target
    head = sorted({'.'.join(k.split('.')[1:3]) for k in keys
                   if k.startswith('bbox_head.')})
    assert head == ['shared_convs.0', 'shared_convs.1', 'shared_convs.2',
                    'shared_convs.3', 'shared_fcs.0']
    assert 'bbox_head.shared_convs.0.conv.weight' in keys
    assert 'bbox_head.shared_convs.0.bn.num_batches_tracked' in keys
    assert 'projector.linear1.weight' in keys
    assert 'predictor.bn1.running_mean' in keys


def test_target_starts_as_online_copy_and_gets_no_gradient():
    model = _build()
    state = model.state_dict()
    for k, v in state.items():
        if k.startswith('target.'):
            assert torch.equal(v, state[k[len('target.'):]]), k
    losses = model(_inputs(), _samples(), mode='loss')
    assert set(losses) == {'loss_v0_v1', 'loss_v1_v0', 'loss_v0_v2',
                           'loss_v2_v0', 'dropped_boxes'}
    _total(losses).backward()
    assert all(p.grad is None for p in model.target.parameters())
    assert model.predictor.linear1.weight.grad is not None
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_loss_is_symmetric_in_the_views():
    model = _build()
    inputs, samples = _inputs(), _samples()
    losses = model(inputs, samples, mode='loss')
    # Swap views 0 and 1 and their roles in the pairs; every directed term
    # must come out under its mirrored name with the same value.
    swapped_inputs = [inputs[1], inputs[0], inputs[2]]
    swapped = []
    for s in samples:
        t = SoCoDataSample(metainfo=dict(view_pairs=[(1, 0), (1, 2)]))
        t.bboxes = [s.bboxes[1], s.bboxes[0], s.bboxes[2]]
        t.pair_matches = [s.pair_matches[0][:, [1, 0]], s.pair_matches[1]]
        swapped.append(t)
    model_b = _build()
    other = model_b(swapped_inputs, swapped, mode='loss')
    rename = {0: 1, 1: 0, 2: 2}
    for name, value in losses.items():
        if not name.startswith('loss'):
            continue
        a, b = int(name[6]), int(name[9])
        mirrored = f'loss_v{rename[a]}_v{rename[b]}'
        # swapped pair order: loss_v1_v0 of the second is loss_v0_v1 here
        assert torch.allclose(other[mirrored], value, atol=1e-5), name


def test_dropped_boxes_form_no_pair():
    kwargs = dict(scale_ranges=(16, 32, 48, 62))
    model = _build(**kwargs)
    base = model(_inputs(), _samples(), mode='loss')
    assert base['dropped_boxes'].item() == 0
    with_big = model(_inputs(), _samples(extra_big_box=True), mode='loss')
    assert with_big['dropped_boxes'].item() == 4  # 2 images x 2 views
    for name in base:
        if name.startswith('loss'):
            assert torch.allclose(base[name], with_big[name], atol=1e-6)
    # Clamping instead keeps them, which changes the (0, 1) terms.
    clamp = _build(oversize='clamp', **kwargs)
    clamped = clamp(_inputs(), _samples(extra_big_box=True), mode='loss')
    assert clamped['dropped_boxes'].item() == 0
    assert not torch.allclose(clamped['loss_v0_v1'], base['loss_v0_v1'])


def test_all_levels_mode_gives_the_same_result_in_eval_mode():
    ours = _build().eval()
    ref = _build(mode='all_levels').eval()
    ref.load_state_dict(ours.state_dict())
    a = ours(_inputs(), _samples(), mode='loss')
    b = ref(_inputs(), _samples(), mode='loss')
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name


def test_update_target_follows_the_schedule():
    model = _build()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.5)
    before = model.target.backbone.conv1.weight.clone()
    tau = model.update_target(3, 10)
    assert tau == pytest.approx(1 - 0.01 * (torch.cos(
        torch.tensor(torch.pi * 0.3)).item() + 1) / 2)
    expected = tau * before + (1 - tau) * model.backbone.conv1.weight
    assert torch.allclose(model.target.backbone.conv1.weight, expected)


def test_bad_matches_name_the_image():
    model = _build()
    samples = _samples()
    samples[1].pair_matches[1] = torch.tensor([[9, 0]])
    with pytest.raises(IndexError, match='img1.jpg'):
        model(_inputs(), samples, mode='loss')


def test_needs_exactly_one_head():
    cfg = _model_cfg()
    cfg.shared_head = copy.deepcopy(cfg.bbox_head)
    with pytest.raises(ValueError):
        MODELS.build(cfg)


def test_c4_variant_keys_and_forward():
    cfg = Config.fromfile('configs/_base_/models/soco_r50c4.py').model
    cfg.data_preprocessor = None
    bn = dict(type='BN', requires_grad=True)
    # A ResNet-18-sized C4 twin keeps the test fast; the layout is the same.
    cfg.backbone.update(depth=18, norm_cfg=bn)
    cfg.shared_head.update(depth=18, norm_cfg=bn)
    cfg.roi_extractor.out_channels = 256
    cfg.projector.update(in_channels=512, hid_channels=64,
                         norm_cfg=dict(type='BN1d'))
    cfg.predictor.update(hid_channels=64, norm_cfg=dict(type='BN1d'))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    keys = list(model.state_dict())
    assert {k.split('.')[0] for k in keys} == {
        'backbone', 'shared_head', 'projector', 'predictor', 'target'}
    assert 'shared_head.layer4.0.conv1.weight' in keys
    assert 'target.shared_head.layer4.1.bn2.weight' in keys
    # res5 is the backbone's last stage: zero-init residual BNs like it.
    assert model.shared_head.layer4[0].bn2.weight.abs().sum() == 0
    samples = _samples()
    for s in samples:
        s.set_metainfo(dict(view_pairs=[(0, 1)]))
        s.pair_matches = s.pair_matches[:1]
    losses = model(_inputs(sizes=(64, 64, 32))[:2], samples, mode='loss')
    assert set(losses) == {'loss_v0_v1', 'loss_v1_v0', 'dropped_boxes'}
    assert torch.isfinite(_total(losses))

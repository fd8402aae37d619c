"""BYOL baseline from SoCo's parts: key layout, symmetric image-level loss."""
import torch
import torch.nn.functional as F
from mmengine.config import Config

import mmsoco.models  # noqa: F401
from mmsoco.registry import MODELS
from mmsoco.structures import SoCoDataSample


def _build():
    cfg = Config.fromfile('configs/_base_/models/byol_r18.py').model
    cfg.data_preprocessor = None
    cfg.projector.hid_channels = 64
    cfg.predictor.hid_channels = 64
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, s, s, generator=gen) for s in (64, 64, 32)]


def _samples(pairs=((0, 1), (0, 2))):
    return [
        SoCoDataSample(metainfo=dict(view_pairs=list(pairs))) for _ in range(4)
    ]


def test_keys_follow_the_contract():
    keys = list(_build().state_dict())
    assert {k.split('.')[0]
            for k in keys} == {'backbone', 'projector', 'predictor', 'target'}
    assert {k.split('.')[1]
            for k in keys
            if k.startswith('target.')} == {'backbone', 'projector', 'steps'}
    assert 'target.backbone.layer4.1.conv2.weight' in keys


def test_loss_terms_by_hand_and_no_target_gradient():
    model = _build()
    # Move the online network off its EMA copy (as after any step), so that
    # a loss computing its targets with the online network fails below.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in list(model.backbone.parameters()) + list(
                model.projector.parameters()):
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    inputs = _inputs()
    losses = model(inputs, _samples(), mode='loss')
    assert set(losses) == {
        'loss_v0_v1', 'loss_v1_v0', 'loss_v0_v2', 'loss_v2_v0', 'proj_std',
        'cross_image_cos'
    }
    # the collapse read-out of the online projections, by hand
    with torch.no_grad():
        z = torch.cat([
            model.projector(model.backbone(x)[-1].mean(dim=(2, 3)))
            for x in inputs
        ])
        unit = F.normalize(z, dim=1)
    assert torch.allclose(
        losses['proj_std'], unit.std(dim=0).mean(), atol=1e-5)

    # loss_v0_v1 by hand: 2 - 2 cos(pred_online(v0), proj_target(v1)),
    # with the views' own batch statistics (train-mode BN).
    def embed(net, img):
        feat = net.backbone(img)[-1].mean(dim=(2, 3))
        return net.projector(feat)

    with torch.no_grad():
        pred0 = model.predictor(embed(model, inputs[0]))
        proj1 = embed(model.target, inputs[1])
        online1 = embed(model, inputs[1])
    expected = 2 - 2 * F.cosine_similarity(pred0, proj1).mean()
    assert torch.allclose(losses['loss_v0_v1'], expected, atol=1e-5)
    with_online_targets = 2 - 2 * F.cosine_similarity(pred0, online1).mean()
    assert abs(float(with_online_targets - expected)) > 1e-3
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is None for p in model.target.parameters())
    assert model.backbone.conv1.weight.grad is not None


def test_view_pairs_default_and_symmetry():
    model = _build()
    inputs = _inputs()
    a = model(inputs, None, mode='loss')  # default pairs (0, 1), (0, 2)
    b = model([inputs[1], inputs[0], inputs[2]],
              _samples([(1, 0), (1, 2)]),
              mode='loss')
    assert torch.allclose(a['loss_v0_v1'], b['loss_v1_v0'], atol=1e-5)
    assert torch.allclose(a['loss_v2_v0'], b['loss_v2_v1'], atol=1e-5)

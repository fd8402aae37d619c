"""ResLayerExtraNorm: mmdet's res5 followed by a norm (detectron2's
Res5ROIHeadsExtraNorm), with res5's keys unchanged."""
import torch
from mmdet.models.roi_heads.shared_heads import ResLayer
from torch.nn import functional as F

from mmsoco.models.roi_heads import ResLayerExtraNorm

ARGS = dict(
    depth=18,
    stage=3,
    stride=2,
    style='pytorch',
    norm_eval=False,
    norm_cfg=dict(type='BN', requires_grad=True))


def test_res5_keys_unchanged_and_only_the_norm_new():
    plain, extra = ResLayer(**ARGS), ResLayerExtraNorm(**ARGS)
    plain_keys = set(plain.state_dict())
    extra_keys = set(extra.state_dict())
    assert plain_keys < extra_keys
    assert extra_keys - plain_keys == {
        'norm.weight', 'norm.bias', 'norm.running_mean', 'norm.running_var',
        'norm.num_batches_tracked'
    }
    missing, unexpected = extra.load_state_dict(
        plain.state_dict(), strict=False)
    assert unexpected == []
    assert sorted(missing) == [
        'norm.bias', 'norm.running_mean', 'norm.running_var', 'norm.weight'
    ]
    assert extra.fine_tune_only == ('norm', )


def test_forward_is_batch_norm_of_res5_output():
    torch.manual_seed(0)
    plain, extra = ResLayer(**ARGS), ResLayerExtraNorm(**ARGS)
    extra.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        extra.norm.weight.uniform_(0.5, 2.0)
        extra.norm.bias.uniform_(-1.0, 1.0)
    x = torch.randn(4, 256, 14, 14)
    plain.train(), extra.train()
    res5 = plain(x)
    assert res5.shape == (4, 512, 7, 7)
    # training mode: normalised with the batch's own statistics
    mean = res5.mean(dim=(0, 2, 3), keepdim=True)
    var = res5.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (res5 - mean) / torch.sqrt(var + extra.norm.eps)
    expected = expected * extra.norm.weight.view(1, -1, 1, 1) + \
        extra.norm.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(extra(x), expected, rtol=1e-4, atol=1e-4)
    # eval mode: with the running statistics
    extra.eval(), plain.eval()
    norm = extra.norm
    torch.testing.assert_close(
        extra(x),
        F.batch_norm(
            plain(x), norm.running_mean, norm.running_var, norm.weight,
            norm.bias, False, 0., norm.eps))


def test_norm_eval_freezes_every_bn_syncbn_included():
    head = ResLayerExtraNorm(**dict(
        ARGS, norm_eval=True, norm_cfg=dict(type='SyncBN',
                                            requires_grad=True)))
    head.train()
    assert head.training
    assert isinstance(head.norm, torch.nn.SyncBatchNorm)
    assert not head.norm.training
    assert not head.layer4[0].bn1.training

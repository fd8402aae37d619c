"""SoCo with mmdet's SwinTransformer (configs/soco/soco-warm_swin-t-fpn_12e_coco.py)
and its Mask R-CNN fine-tuning (configs/benchmarks/mmdet/mask-rcnn_swin-t-fpn_soco_1x_coco.py):
the architecture is the Swin-T file's in both, a tiny Swin of the same
recipe trains an iteration, converts with the unchanged converter and fills
every transferred tensor of the detector; the view browser runs the recipe
unchanged; a Swin warm start loads bit for bit."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmsoco.converters import convert_to_mmdet, soco_to_mmdet
from mmsoco.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = osp.join(REPO, 'configs', 'soco', 'soco-warm_swin-t-fpn_12e_coco.py')
FINETUNE = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                    'mask-rcnn_swin-t-fpn_soco_1x_coco.py')
ARCH = osp.join(REPO, 'configs', '_base_', 'models', 'swin-t_fpn_4conv1fc.py')
R50_SOCO = osp.join(REPO, 'configs', '_base_', 'models', 'soco_r50fpn.py')
R50_FINETUNE = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                        'mask-rcnn_r50-fpn_soco_1x_coco.py')
TRANSFERRED = ('backbone.', 'neck.', 'roi_head.bbox_head.shared_')
#: A Swin of the recipe's kind, small enough for the CPU: 4 stages of one
#: block, 16-128 channels; FPN and trunk 16 wide, plain BN.
TINY_SWIN = dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 4])
WIDTHS = [16, 32, 64, 128]
BN = dict(type='BN', requires_grad=True)


def _without(d, *keys):
    return {k: v for k, v in dict(d).items() if k not in keys}


def test_recipes_take_the_swin_architecture_whole():
    arch = Config.fromfile(ARCH)
    soco = Config.fromfile(RECIPE)
    det = Config.fromfile(FINETUNE)
    assert arch.backbone.type == 'SwinTransformer'
    assert (arch.backbone.embed_dims, arch.backbone.depths,
            arch.backbone.window_size) == (96, [2, 2, 6, 2], 7)
    assert _without(soco.model.backbone, 'drop_path_rate') == \
        _without(arch.backbone, 'drop_path_rate')
    assert soco.model.backbone.drop_path_rate == 0  # target in train mode
    assert det.model.backbone == arch.backbone  # fine-tuning: 0.2
    assert soco.model.neck == arch.neck
    assert _without(det.model.neck, 'num_outs') == \
        _without(arch.neck, 'num_outs')
    assert list(arch.neck.in_channels) == [96, 192, 384, 768]
    for key, value in arch.bbox_head_trunk.items():
        assert det.model.roi_head.bbox_head[key] == value, key
    assert det.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert det.default_hooks.nan_guard == dict(type='mmsoco.NanGuardHook')
    # every SoCo setting is the R50-FPN recipe's
    r50 = Config.fromfile(R50_SOCO).model
    assert _without(soco.model, 'backbone', 'neck', 'init_cfg',
                    'data_preprocessor') == _without(r50, 'backbone', 'neck',
                                                     'data_preprocessor')
    assert soco.model.init_cfg.type == 'PretrainedBackbone'
    keys = soco.optim_wrapper.paramwise_cfg.custom_keys
    assert keys['norm'] == dict(decay_mult=0., lars_exclude=True)
    # the detector beyond its backbone is the R50 SoCo fine-tuning's
    r50_det = Config.fromfile(R50_FINETUNE).model
    assert _without(det.model, 'backbone',
                    'neck') == _without(r50_det, 'backbone', 'neck')
    assert det.optim_wrapper.optimizer.type == 'AdamW'
    assert det.train_cfg.max_epochs == 12


def _tiny_soco(cfg):
    model = cfg.model
    model.backbone.update(TINY_SWIN)
    model.neck.update(in_channels=WIDTHS, out_channels=16, norm_cfg=BN)
    model.bbox_head.update(
        in_channels=16, conv_out_channels=16, fc_out_channels=32, norm_cfg=BN)
    model.roi_extractor.out_channels = 16
    model.projector.update(
        in_channels=32, hid_channels=32, norm_cfg=dict(type='BN1d'))
    model.predictor.update(hid_channels=32, norm_cfg=dict(type='BN1d'))
    return cfg


def _tiny_detector(cfg):
    from mmsoco.datasets.demo import DEMO_CLASSES
    model = cfg.model
    model.backbone.update(TINY_SWIN)
    model.neck.update(in_channels=WIDTHS, out_channels=16, norm_cfg=BN)
    model.rpn_head.update(in_channels=16, feat_channels=16)
    model.roi_head.bbox_roi_extractor.out_channels = 16
    model.roi_head.bbox_head.update(
        in_channels=16,
        conv_out_channels=16,
        fc_out_channels=32,
        norm_cfg=BN,
        num_classes=len(DEMO_CLASSES))
    model.roi_head.mask_roi_extractor.out_channels = 16
    model.roi_head.mask_head.update(
        in_channels=16, norm_cfg=BN, num_classes=len(DEMO_CLASSES))
    return cfg


def _demo_data_options(cfg, data_root, cache):
    dataset = cfg.train_dataloader.dataset
    dataset.update(
        data_root=str(data_root) + '/',
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img_path='images/'),
        proposal_store=None)  # computed on the fly, cached in ``cache``
    proposals = dataset.pipeline[1]
    proposals.update(cache_dir=str(cache))
    return cfg


@pytest.mark.timeout(600)
def test_tiny_swin_trains_converts_and_fills_the_detector(
        demo_data_root, tmp_path):
    cfg = _tiny_soco(Config.fromfile(RECIPE))
    cfg.model.init_cfg = None  # from random weights: the plumbing only
    _demo_data_options(cfg, demo_data_root, tmp_path / 'cache')
    for view, size in zip(cfg.train_dataloader.dataset.pipeline[2]['views'],
                          (64, 64, 32)):
        view['size'] = size  # 32 px: Swin pads its windows and merges
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    # an iteration-based run counts its own steps (the recipe's 'reference'
    # K is an epoch count)
    cfg.custom_hooks = [dict(type='MomentumUpdateHook', schedule_length='run')]
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer.vis_backends = []
    cfg.visualizer.name = 'swin_recipe_test'
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    runner = Runner.from_cfg(cfg)
    before = runner.model.backbone.stages[0].blocks[0].attn.w_msa.qkv.weight
    before = before.detach().clone()
    runner.train()
    soco_ckpt = str(tmp_path / 'work' / 'iter_1.pth')
    state = torch.load(soco_ckpt, weights_only=True)['state_dict']
    assert not torch.equal(
        before, state['backbone.stages.0.blocks.0.attn.w_msa.qkv.weight'])

    det_cfg = _tiny_detector(Config.fromfile(FINETUNE))
    small = str(tmp_path / 'swin_det_small.py')
    det_cfg.dump(small)
    converted = str(tmp_path / 'mmdet.pth')
    report = convert_to_mmdet(soco_ckpt, converted, config=small)
    assert 'all present with matching shapes' in report
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(Config.fromfile(small).model)
    weights = torch.load(converted, weights_only=True)['state_dict']
    missing, unexpected = detector.load_state_dict(weights, strict=False)
    assert unexpected == []
    assert [k for k in missing if k.startswith(TRANSFERRED)] == []
    expected, _ = soco_to_mmdet(state)
    detector_state = detector.state_dict()
    transferred = [k for k in detector_state if k.startswith(TRANSFERRED)]
    assert any(k.startswith('backbone.stages.3.') for k in transferred)
    for key in transferred:
        assert torch.equal(detector_state[key], expected[key]), key


def test_browse_views_runs_the_swin_recipe(demo_data_root, tmp_path):
    path = osp.join(REPO, 'tools', 'analysis_tools', 'browse_views.py')
    spec = importlib.util.spec_from_file_location('browse_views', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'views'
    dataset = 'train_dataloader.dataset'
    rc = tool.main([
        RECIPE, '--output-dir',
        str(out), '--num', '1', '--cfg-options',
        f'{dataset}.data_root={demo_data_root}/',
        f'{dataset}.ann_file=annotations/instances_train.json',
        f'{dataset}.data_prefix.img_path=images/',
        f'{dataset}.proposal_store=None',
        f'{dataset}.pipeline.1.cache_dir={tmp_path}/cache'
    ])
    assert rc == 0
    assert len(list(out.glob('*.png'))) == 1


def test_swin_warm_start_loads_online_and_target(tmp_path):
    """A Swin backbone from an mmpretrain-layout file ("backbone.*"),
    written from an independent Swin with randomised values."""
    cfg = _tiny_soco(Config.fromfile(RECIPE)).model
    cfg.data_preprocessor = None
    with DefaultScope.overwrite_default_scope('mmsoco'):
        source = MODELS.build(cfg.backbone)
    gen = torch.Generator().manual_seed(7)
    weights = {
        'backbone.' + k:
        (torch.randn(v.shape, generator=gen) if v.is_floating_point() else v)
        for k, v in source.state_dict().items()
    }
    weights['head.fc.weight'] = torch.ones(2)
    path = str(tmp_path / 'swin.pth')
    torch.save(dict(meta={}, state_dict=weights), path)
    cfg.init_cfg = dict(type='PretrainedBackbone', checkpoint=path)
    with DefaultScope.overwrite_default_scope('mmsoco'):
        model = MODELS.build(cfg)
    model.init_weights()
    state = model.state_dict()
    for key, value in weights.items():
        if key.startswith('backbone.'):
            assert torch.equal(state[key], value), key
            assert torch.equal(state['target.' + key], value), key

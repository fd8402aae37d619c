"""configs/benchmarks/mmdet with a converted SoCo checkpoint: it
initialises every converted part of the detector, and the detector
fine-tunes (one CPU iteration: the FPN demo and the C4 recipe)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmsoco.converters import (check_against_destination,
                               detector_destination_shapes, soco_to_mmdet)
from soco_checkpoint import save_mmengine_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'configs', 'benchmarks', 'mmdet')
DEMO = osp.join(BENCH, 'mask-rcnn_r18-fpn_demo.py')
TRANSFERRED = ('backbone.', 'neck.', 'roi_head.bbox_head.shared_',
               'roi_head.shared_head.')


def _pipeline_step(pipeline, kind):
    found = [step for step in pipeline if step.type == kind]
    assert len(found) == 1, (kind, pipeline)
    return found[0]


def _soco_state_dict(soco_config):
    """The real SoCo model's state dict, built from configs/soco/ (a build
    failure fails the test: no stand-in)."""
    path = osp.join(REPO, 'configs', 'soco', soco_config)
    return _build_soco(Config.fromfile(path).model).state_dict()


def _build_soco(model_cfg):
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmsoco'):
        return MODELS.build(model_cfg)


@pytest.mark.parametrize('config,soco_config', [
    ('mask-rcnn_r50-fpn_soco_1x_coco.py', 'soco_r50fpn_400e.py'),
    ('mask-rcnn_r50-c4_soco_1x_coco.py', 'soco_r50c4_400e.py'),
    ('faster-rcnn_r50-c4_soco_24k_voc0712.py', 'soco_r50c4_400e.py'),
])
def test_converted_soco_fills_the_r50_detector(config, soco_config):
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    soco_sd = _soco_state_dict(soco_config)
    converted, _ = soco_to_mmdet(soco_sd)
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(Config.fromfile(osp.join(BENCH, config)).model)
    # every transferred tensor has its destination, same shape, and back;
    # the C4 head's extra norm is the one part with no pretrained source
    extra_norm = 'roi_head.shared_head.norm.'
    destination = {
        k: v.shape
        for k, v in detector.state_dict().items()
        if k.startswith(TRANSFERRED) and not k.startswith(extra_norm)
    }
    if '-c4' in config:
        norm = detector.roi_head.shared_head.norm
        assert isinstance(norm, torch.nn.SyncBatchNorm)
        assert norm.num_features == 2048
    assert check_against_destination(converted, destination) == []
    missing, unexpected = detector.load_state_dict(converted, strict=False)
    assert unexpected == []
    new_parts = [k for k in missing if k.startswith(TRANSFERRED)]
    if '-c4' in config:
        # (torch does not report a missing num_batches_tracked)
        assert sorted(new_parts) == sorted(extra_norm + k
                                           for k in ('weight', 'bias',
                                                     'running_mean',
                                                     'running_var'))
    else:
        assert new_parts == []
    state = detector.state_dict()
    for key, value in converted.items():
        assert torch.equal(state[key], value), key
    assert len(converted) == len(destination)


def _plumbing_runtime(cfg):
    """One-iteration plumbing runs: lr 0 and no schedule (so the weights
    stay what load_from put there), no validation or test, a log line per
    iteration, a visualizer of the run's own."""
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 0.0
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer = dict(
        type='DetLocalVisualizer',
        vis_backends=[dict(type='LocalVisBackend')],
        name=f'visualizer_{id(cfg)}')
    return cfg


def _demo_finetune_cfg(data_root, work_dir, load_from):
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(work_dir)
    cfg.load_from = load_from
    cfg.launcher = 'none'
    # tiny images; lr 0 so that after one iteration the parameters are still
    # exactly what load_from put there
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = str(data_root)
        for step in loader.dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (128, 128)
    cfg.train_dataloader.batch_size = 2
    # fewer proposals and RoIs: this checks plumbing, not accuracy
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
    cfg.model.train_cfg.rcnn.sampler.num = 32
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    return _plumbing_runtime(cfg)


@pytest.mark.timeout(300)
def test_demo_finetune_one_iteration_from_converted(demo_data_root, tmp_path):
    from mmengine.runner import Runner

    from mmsoco.converters import convert_to_mmdet
    soco_sd = _soco_state_dict('soco_r18fpn_demo.py')
    soco_ckpt = save_mmengine_checkpoint(soco_sd, tmp_path / 'soco.pth')
    converted = str(tmp_path / 'mmdet.pth')
    # checked against the demo detector itself
    convert_to_mmdet(soco_ckpt, converted, config=DEMO)
    assert detector_destination_shapes(DEMO)

    cfg = _demo_finetune_cfg(demo_data_root, tmp_path / 'work', converted)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    assert 'NanGuardHook' in [type(h).__name__ for h in runner.hooks]
    model = runner.model
    params = dict(model.named_parameters())
    expected, _ = soco_to_mmdet(soco_sd)
    checked = 0
    for key, value in expected.items():
        if key in params:  # parameters (buffers move in train mode)
            assert torch.equal(params[key].detach(), value), key
            checked += 1
    assert checked == sum(1 for k in params if k.startswith(TRANSFERRED))
    assert checked > 0
    assert (tmp_path / 'work' / 'iter_1.pth').is_file()


def test_real_soco_demo_model_converts_onto_the_demo_detector():
    """The contract between the SoCo model and the converters, on the real
    model built from configs/soco/soco_r18fpn_demo.py."""
    path = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmsoco'):
        model = MODELS.build(Config.fromfile(path).model)
    state_dict = model.state_dict()
    for net in ('online', 'target'):
        converted, report = soco_to_mmdet(state_dict, net=net)
        assert report.unexpected == []
        assert report.dropped['projector'] > 0
        if net == 'online':
            assert report.dropped['predictor'] > 0
        destination = detector_destination_shapes(DEMO)
        assert check_against_destination(converted, destination) == []


# -- the C4 recipe, shrunk: one CPU iteration from a converted SoCo C4 -----
C4_RECIPE = osp.join(BENCH, 'mask-rcnn_r50-c4_soco_1x_coco.py')
BN = dict(type='BN', requires_grad=True)


def _small_soco_c4():
    """SoCo built from configs/_base_/models/soco_r50c4.py at ResNet-18 size
    (res2-res4 256 channels out, res5 512), plain BN, small MLPs."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'soco_r50c4.py')).model
    cfg.data_preprocessor = None
    cfg.backbone.update(depth=18, norm_cfg=BN)
    cfg.shared_head.update(depth=18, norm_cfg=BN)
    cfg.roi_extractor.out_channels = 256
    cfg.projector.update(
        in_channels=512, hid_channels=32, norm_cfg=dict(type='BN1d'))
    cfg.predictor.update(hid_channels=32, norm_cfg=dict(type='BN1d'))
    torch.manual_seed(0)
    return _build_soco(cfg)  # torch's default init: values only differ


def _small_c4_recipe(data_root, work_dir, load_from):
    """The C4 recipe as it is (extra norm, precise BN, multi-scale, the
    iteration loop) at ResNet-18 size on the demo data: tiny scales, few
    proposals and RoIs, 1 iteration at lr 0, 2 precise-BN batches."""
    from mmsoco.datasets.demo import DEMO_CLASSES
    cfg = Config.fromfile(C4_RECIPE)
    model = cfg.model
    model.backbone.update(depth=18, norm_cfg=BN)
    model.roi_head.shared_head.update(depth=18, norm_cfg=BN)
    model.rpn_head.update(in_channels=256, feat_channels=64)
    model.roi_head.bbox_roi_extractor.out_channels = 256
    model.roi_head.bbox_head.update(
        in_channels=512, num_classes=len(DEMO_CLASSES))
    model.roi_head.mask_head.update(
        in_channels=512, conv_out_channels=32, num_classes=len(DEMO_CLASSES))
    model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=20)
    model.train_cfg.rcnn.sampler.num = 16
    cfg.work_dir = str(work_dir)
    cfg.load_from = load_from
    cfg.launcher = 'none'
    loader = cfg.train_dataloader
    loader.update(num_workers=0, persistent_workers=False)
    loader.dataset.update(
        data_root=str(data_root),
        metainfo=dict(classes=DEMO_CLASSES),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'))
    _pipeline_step(loader.dataset.pipeline, 'RandomChoiceResize').scales = \
        [(128, 96), (128, 128)]
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.custom_hooks[0].num_iters = 2
    return _plumbing_runtime(cfg)


@pytest.mark.timeout(300)
def test_c4_recipe_one_iteration_from_converted_soco_c4(
        demo_data_root, tmp_path, monkeypatch):
    from mmengine.runner import Runner

    from mmsoco.converters import convert_to_mmdet
    from mmsoco.engine.hooks import PreciseBNHook
    soco_sd = _small_soco_c4().state_dict()
    soco_ckpt = save_mmengine_checkpoint(soco_sd, tmp_path / 'soco.pth')
    cfg = _small_c4_recipe(demo_data_root, tmp_path / 'work', None)
    small_config = str(tmp_path / 'c4_small.py')
    cfg.dump(small_config)

    # converted and checked against the (small) C4 detector itself: every
    # res5 tensor has its place; the extra norm needs no source
    converted = str(tmp_path / 'mmdet.pth')
    report = convert_to_mmdet(soco_ckpt, converted, config=small_config)
    assert 'all present with matching shapes' in report
    destination = detector_destination_shapes(small_config)
    assert 'roi_head.shared_head.layer4.1.conv2.weight' in destination
    assert not [k for k in destination if '.shared_head.norm.' in k]

    updates = []
    update = PreciseBNHook.update
    monkeypatch.setattr(
        PreciseBNHook, 'update',
        lambda self, runner: updates.append(runner.iter) or update(
            self, runner))
    cfg.load_from = converted
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert updates == [0]  # after the one (last) iteration

    model = runner.model
    norm = model.roi_head.shared_head.norm
    assert isinstance(norm, torch.nn.BatchNorm2d) and norm.num_features == 512
    params = dict(model.named_parameters())
    expected, _ = soco_to_mmdet(soco_sd)
    transferred = [k for k in params if k.startswith(TRANSFERRED)]
    for key in transferred:
        if key.startswith('roi_head.shared_head.norm.'):
            assert key not in expected
            continue
        # lr 0: exactly what load_from put there
        assert torch.equal(params[key].detach(), expected[key]), key
    assert any(
        k.startswith('roi_head.shared_head.layer4.') for k in transferred)
    assert (tmp_path / 'work' / 'iter_1.pth').is_file()

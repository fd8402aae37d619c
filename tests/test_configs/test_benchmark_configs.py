"""configs/benchmarks/mmdet: every config resolves with the detectron2
fine-tuning recipe of the published numbers (multi-scale training, iteration
schedules, the C4 head's extra norm, precise BN, VOC's 11-point AP, LVIS from
SoCo*), takes its architecture from configs/_base_/models (one source of
truth), and a converted SoCo checkpoint initialises every converted part of
the detector (and fine-tunes, one CPU iteration, FPN demo and C4 recipe)."""
import copy
import glob
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
ARCH = osp.join(REPO, 'configs', '_base_', 'models')
# The Swin-T fine-tuning follows mmdet's Swin recipe (AdamW, epochs), not
# detectron2's: checked in test_swin_recipe.py.
CONFIGS = sorted(
    c for c in glob.glob(osp.join(BENCH, '*.py')) if '_swin-' not in c)
NAMES = [osp.basename(c) for c in CONFIGS]
DEMO = osp.join(BENCH, 'mask-rcnn_r18-fpn_demo.py')
TRANSFERRED = ('backbone.', 'neck.', 'roi_head.bbox_head.shared_',
               'roi_head.shared_head.')
TORCHVISION = dict(type='Pretrained', checkpoint='torchvision://resnet50')


def _arch_of(name):
    if 'r18' in name:
        return Config.fromfile(osp.join(ARCH, 'r18_fpn_4conv1fc.py'))
    if '-c4' in name:
        return Config.fromfile(osp.join(ARCH, 'r50_c4.py'))
    return Config.fromfile(osp.join(ARCH, 'r50_fpn_4conv1fc.py'))


def _without(d, *keys):
    return {k: v for k, v in dict(d).items() if k not in keys}


def test_the_benchmark_set_is_complete():
    expected = set()
    for init in ('soco', 'supervised', 'scratch'):
        for sched in ('1x', '2x'):
            expected.add(f'mask-rcnn_r50-fpn_{init}_{sched}_coco.py')
            expected.add(f'mask-rcnn_r50-c4_{init}_{sched}_coco.py')
        expected.add(f'faster-rcnn_r50-c4_{init}_24k_voc0712.py')
        expected.add(f'mask-rcnn_r50-fpn_{init}_1x_lvis-v1.py')
        for pct in (1, 5, 10):
            expected.add(f'mask-rcnn_r50-fpn_{init}_1x_mini-coco-{pct}pct.py')
    expected.add('mask-rcnn_r18-fpn_demo.py')
    assert set(NAMES) == expected


COCO_SCALES = [(1333, s) for s in range(640, 801, 32)]
VOC_SCALES = [(1333, s) for s in range(480, 801, 32)]


def _check_schedule(name, cfg):
    """detectron2's schedules in iterations: 1x 90k (steps 60k, 80k), 2x 180k
    (120k, 160k), VOC 24k (18k, 22k); linear warm-up from 0.001 over 1000
    iterations (VOC: 100); lr 0.02 at batch 16, momentum 0.9."""
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(steps) == 1
    if 'demo' in name:  # the CPU demo keeps mmdet's epoch 1x
        assert cfg.train_cfg.max_epochs == 12
        assert steps[0].milestones == [8, 11]
        return
    total, milestones, warmup, decay = {
        '_1x_': (90000, [60000, 80000], 1000, 2.5e-5),
        '_2x_': (180000, [120000, 160000], 1000, 2.5e-5),
        '_24k_': (24000, [18000, 22000], 100, 1e-4),
    }[next(k for k in ('_1x_', '_2x_', '_24k_') if k in name)]
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == total
    assert steps[0].milestones == milestones and steps[0].gamma == 0.1
    assert steps[0].by_epoch is False and steps[0].end == total
    warm = [
        s for s in cfg.param_scheduler if s.type == 'mmsoco.LinearWarmupLR'
    ]
    assert len(warm) == 1 and len(cfg.param_scheduler) == 2
    assert warm[0].start_factor == 0.001 and warm[0].by_epoch is False
    assert (warm[0].begin, warm[0].end) == (0, warmup)
    # validation and checkpoints fall on iterations, the last included
    assert 0 < cfg.train_cfg.val_interval <= total
    assert total % cfg.train_cfg.val_interval == 0
    assert cfg.default_hooks.checkpoint.interval <= total
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum) == \
        ('SGD', 0.02, 0.9)
    assert optimizer.weight_decay == decay
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_dataloader.batch_size == 2  # x 8 GPUs


def _pipeline_step(pipeline, kind):
    found = [step for step in pipeline if step.type == kind]
    assert len(found) == 1, (kind, pipeline)
    return found[0]


def _train_datasets(cfg):
    dataset = cfg.train_dataloader.dataset
    if dataset.type == 'ConcatDataset':
        return list(dataset.datasets)
    if dataset.type == 'ClassBalancedDataset':
        return [dataset.dataset]
    return [dataset]


def _check_data(name, cfg):
    """Multi-scale training as detectron2's ResizeShortestEdge 'choice'
    (longer side <= 1333), test at 800; VOC's difficult boxes and metric;
    LVIS's repeat-factor sampling."""
    if 'demo' in name:
        return
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    for dataset in _train_datasets(cfg):
        resize = _pipeline_step(dataset.pipeline, 'RandomChoiceResize')
        expected = VOC_SCALES if 'voc' in name else COCO_SCALES
        assert [tuple(s) for s in resize.scales] == expected
        assert resize.keep_ratio is True
        assert _pipeline_step(dataset.pipeline, 'RandomFlip').prob == 0.5
    test = _pipeline_step(cfg.test_dataloader.dataset.pipeline, 'Resize')
    assert tuple(test.scale) == (1333, 800) and test.keep_ratio is True
    if 'voc' in name:
        datasets = _train_datasets(cfg)
        assert [d.ann_file for d in datasets] == [
            'VOC2007/ImageSets/Main/trainval.txt',
            'VOC2012/ImageSets/Main/trainval.txt'
        ]
        for dataset in datasets:
            assert dataset.type == 'mmsoco.VOCDatasetWithDifficult'
            assert dataset.train_on_difficult is True
            assert 'bbox_min_size' not in dataset.filter_cfg
        assert cfg.test_dataloader.dataset.ann_file == \
            'VOC2007/ImageSets/Main/test.txt'
        for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
            assert dict(evaluator) == dict(type='mmsoco.VOCDetectionAPMetric')
    if 'lvis' in name:
        dataset = cfg.train_dataloader.dataset
        assert dataset.type == 'ClassBalancedDataset'
        assert dataset.oversample_thr == 1e-3
        assert dataset.dataset.type == 'LVISV1Dataset'


@pytest.mark.parametrize('name', NAMES)
def test_config_resolves_with_the_recipe(name):
    cfg = Config.fromfile(osp.join(BENCH, name))
    model = cfg.model
    arch = _arch_of(name)

    # the preprocessor is the model's (mmselfsup bug: top level only), with
    # the pretraining's normalisation (ImageNet RGB mean/std)
    assert 'data_preprocessor' not in cfg
    pre = model.data_preprocessor
    assert pre.type == 'DetDataPreprocessor'
    assert list(pre.mean) == [123.675, 116.28, 103.53]
    assert list(pre.std) == [58.395, 57.12, 57.375]
    assert pre.bgr_to_rgb is True

    _check_schedule(name, cfg)
    _check_data(name, cfg)
    # A NaN loss stops a fine-tune too (built in mmdet's scope: the demo
    # fine-tune's run below).
    assert cfg.default_hooks.nan_guard == dict(type='mmsoco.NanGuardHook')
    hooks = [
        h for h in cfg.get('custom_hooks', []) if 'PreciseBNHook' in h.type
    ]
    if 'demo' in name:
        assert hooks == []  # CPU demo: see its config
    else:
        # detectron2's TEST.PRECISE_BN.ENABLED with NUM_ITER 200
        assert hooks == [dict(type='mmsoco.PreciseBNHook', num_iters=200)]
        assert cfg.default_hooks.checkpoint.by_epoch is False
        assert cfg.log_processor.by_epoch is False

    # everything trainable, the architecture's norm everywhere
    norm = 'BN' if 'r18' in name else 'SyncBN'
    assert arch.norm_cfg.type == norm
    assert model.backbone.frozen_stages == -1
    assert model.backbone.norm_eval is False
    assert model.backbone.norm_cfg.type == norm
    if '-fpn' in name:
        assert model.neck.norm_cfg.type == norm
        assert model.roi_head.bbox_head.norm_cfg.type == norm
        assert model.roi_head.mask_head.norm_cfg.type == norm
        # one source of truth: the pretraining architecture, whole
        assert _without(model.backbone, 'init_cfg') == dict(arch.backbone)
        assert _without(model.neck,
                        'num_outs') == _without(arch.neck, 'num_outs')
        assert model.neck.num_outs == 5  # + parameter-free P6
        head = model.roi_head.bbox_head
        assert head.type == 'Shared4Conv1FCBBoxHead'
        for key, value in arch.bbox_head_trunk.items():
            assert head[key] == value, key
        channels = arch.neck.out_channels
        assert model.rpn_head.in_channels == channels
        assert model.roi_head.bbox_roi_extractor.out_channels == channels
        assert model.roi_head.mask_head.in_channels == channels
    else:
        assert model.roi_head.shared_head.norm_cfg.type == norm
        assert model.roi_head.shared_head.norm_eval is False
        assert _without(model.backbone, 'init_cfg') == dict(arch.backbone)
        # res5 as pretrained, plus detectron2's extra norm after it
        assert model.roi_head.shared_head.type == 'mmsoco.ResLayerExtraNorm'
        assert _without(model.roi_head.shared_head, 'init_cfg', 'type') == \
            _without(arch.shared_head, 'type')
        assert model.roi_head.bbox_roi_extractor.roi_layer.output_size == \
            arch.roi_feat_size

    # RPN anchors crossing the image border are kept (detectron2's default
    # RPN.BOUNDARY_THRESH = -1, which no SoCo / MoCo yaml overrides; mmdet
    # spells "keep all" allowed_border=-1)
    assert model.train_cfg.rpn.allowed_border == -1

    # initialisation: exactly one source per twin
    init = name.split('_')[2] if 'demo' not in name else 'soco'
    backbone_init = model.backbone.get('init_cfg')
    shared_init = model.roi_head.get('shared_head', {}) or {}
    if init == 'soco':
        assert cfg.load_from.endswith('mmdet.pth')
        if 'lvis' in name:  # the paper's LVIS row: SoCo* 400 epochs
            assert cfg.load_from == \
                'work_dirs/soco-star_r50fpn_400e/mmdet.pth'
            assert osp.isfile(
                osp.join(REPO, 'configs', 'soco', 'soco-star_r50fpn_400e.py'))
        assert backbone_init is None
        assert shared_init.get('init_cfg') is None
    elif init == 'supervised':
        assert cfg.load_from is None
        assert dict(backbone_init) == TORCHVISION
        if '-c4' in name:
            assert dict(shared_init.init_cfg) == TORCHVISION
    else:
        assert init == 'scratch'
        assert cfg.load_from is None and backbone_init is None
        assert shared_init.get('init_cfg') is None

    if 'mini-coco' in name:
        pct = name.split('mini-coco-')[1].split('pct')[0]
        assert cfg.train_dataloader.dataset.ann_file == \
            f'annotations/instances_train2017_{pct}pct.json'
        assert cfg.val_dataloader.dataset.ann_file == \
            'annotations/instances_val2017.json'
    if 'lvis' in name:
        assert model.roi_head.bbox_head.num_classes == 1203
        assert model.roi_head.mask_head.num_classes == 1203
        assert model.test_cfg.rcnn.max_per_img == 300
        assert model.test_cfg.rcnn.score_thr == 1e-4
    if 'voc' in name:
        assert model.type == 'FasterRCNN'
        assert model.roi_head.bbox_head.num_classes == 20
        assert model.roi_head.get('mask_head') is None


def test_demo_config_classes_are_the_demo_datasets():
    from mmsoco.datasets.demo import DEMO_CLASSES
    cfg = Config.fromfile(DEMO)
    assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == \
        DEMO_CLASSES
    assert cfg.model.roi_head.bbox_head.num_classes == len(DEMO_CLASSES)


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

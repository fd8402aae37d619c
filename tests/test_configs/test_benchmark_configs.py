"""configs/benchmarks/mmdet: every config resolves with the fine-tuning
recipe (docs/method.md section 5.2), takes its architecture from configs/_base_/models
(one source of truth), and a converted SoCo checkpoint initialises every
converted part of the detector (and fine-tunes, one CPU iteration)."""
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
CONFIGS = sorted(glob.glob(osp.join(BENCH, '*.py')))
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

    # schedules (mmselfsup bug: a "2x" that ran 12 epochs)
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(steps) == 1
    if '_2x_' in name:
        assert cfg.train_cfg.max_epochs == 24
        assert steps[0].milestones == [16, 22] and steps[0].end == 24
    elif '_24k_' in name:
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert cfg.train_cfg.max_iters == 24000
        assert steps[0].milestones == [18000, 22000]
        assert steps[0].by_epoch is False
    else:
        assert cfg.train_cfg.max_epochs == 12
        assert steps[0].milestones == [8, 11] and steps[0].end == 12
    assert cfg.optim_wrapper.optimizer.weight_decay == 2.5e-5

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
        assert _without(model.roi_head.shared_head,
                        'init_cfg') == dict(arch.shared_head)
        assert model.roi_head.bbox_roi_extractor.roi_layer.output_size == \
            arch.roi_feat_size

    # initialisation: exactly one source per twin
    init = name.split('_')[2] if 'demo' not in name else 'soco'
    backbone_init = model.backbone.get('init_cfg')
    shared_init = model.roi_head.get('shared_head', {}) or {}
    if init == 'soco':
        assert cfg.load_from.endswith('mmdet.pth')
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


def _soco_state_dict(soco_config, arch_file):
    """The real SoCo model's state dict (no stand-in: a model that does not
    build fails the test). ``arch_file`` is unused, kept for the callers."""
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    path = osp.join(REPO, 'configs', 'soco', soco_config)
    with DefaultScope.overwrite_default_scope('mmsoco'):
        model = MODELS.build(Config.fromfile(path).model)
    return model.state_dict()


@pytest.mark.parametrize('config,soco_config,arch_file', [
    ('mask-rcnn_r50-fpn_soco_1x_coco.py', 'soco_r50fpn_400e.py',
     'r50_fpn_4conv1fc.py'),
    ('mask-rcnn_r50-c4_soco_1x_coco.py', 'soco_r50c4_400e.py', 'r50_c4.py'),
    ('faster-rcnn_r50-c4_soco_24k_voc0712.py', 'soco_r50c4_400e.py',
     'r50_c4.py'),
])
def test_converted_soco_fills_the_r50_detector(config, soco_config, arch_file):
    from mmsoco.registry import MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    soco_sd = _soco_state_dict(soco_config, arch_file)
    converted, _ = soco_to_mmdet(soco_sd)
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(Config.fromfile(osp.join(BENCH, config)).model)
    # every transferred tensor has its destination, same shape, and back
    destination = {
        k: v.shape
        for k, v in detector.state_dict().items() if k.startswith(TRANSFERRED)
    }
    assert check_against_destination(converted, destination) == []
    missing, unexpected = detector.load_state_dict(converted, strict=False)
    assert unexpected == []
    assert not [k for k in missing if k.startswith(TRANSFERRED)]
    state = detector.state_dict()
    for key, value in converted.items():
        assert torch.equal(state[key], value), key
    assert len(converted) == len(destination)


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
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 0.0
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer = dict(
        type='DetLocalVisualizer',
        vis_backends=[dict(type='LocalVisBackend')],
        name=f'visualizer_{id(cfg)}')
    return cfg


@pytest.mark.timeout(300)
def test_demo_finetune_one_iteration_from_converted(demo_data_root, tmp_path):
    from mmengine.runner import Runner

    from mmsoco.converters import convert_to_mmdet
    soco_sd = _soco_state_dict('soco_r18fpn_demo.py', 'r18_fpn_4conv1fc.py')
    soco_ckpt = save_mmengine_checkpoint(soco_sd, tmp_path / 'soco.pth')
    converted = str(tmp_path / 'mmdet.pth')
    # checked against the demo detector itself
    convert_to_mmdet(soco_ckpt, converted, config=DEMO)
    assert detector_destination_shapes(DEMO)

    cfg = _demo_finetune_cfg(demo_data_root, tmp_path / 'work', converted)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
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

"""configs/benchmarks/mmdet: every config resolves with the detectron2
fine-tuning recipe of the published numbers (multi-scale training, iteration
schedules, the C4 head's extra norm, precise BN, VOC's 11-point AP, LVIS from
SoCo*) and takes its architecture from configs/_base_/models (one source of
truth). A converted SoCo checkpoint in these detectors:
test_benchmark_transfer.py."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'configs', 'benchmarks', 'mmdet')
ARCH = osp.join(REPO, 'configs', '_base_', 'models')
# The Swin-T fine-tuning follows mmdet's Swin recipe (AdamW, epochs), not
# detectron2's: checked in test_swin_recipe.py.
CONFIGS = sorted(
    c for c in glob.glob(osp.join(BENCH, '*.py')) if '_swin-' not in c)
NAMES = [osp.basename(c) for c in CONFIGS]
DEMO = osp.join(BENCH, 'mask-rcnn_r18-fpn_demo.py')
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

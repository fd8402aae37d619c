"""File-to-file conversions behind ``tools/model_converters/*.py``.

Each function reads a SoCo (or BYOL) checkpoint weights-only, converts it,
checks the result against the destination architecture, writes the output
atomically and returns the key report the tool prints.
"""
import contextlib
from typing import Optional

from mmsoco.utils.progress import add_quiet_argument, enabled_by, progress_bar
from .backbone import extract_backbone
from .checks import (arch_config_for, arch_destination_shapes,
                     check_against_destination, detector_destination_shapes)
from .detectron2 import detectron2_checkpoint, mmdet_to_detectron2
from .inputs import detector_checkpoint_keys, recorded_backbone_depth
from .io import (ConversionError, load_state_dict, load_state_dict_and_meta,
                 save_checkpoint_atomic, save_pickle_atomic)
from .soco_to_mmdet import soco_to_mmdet


@contextlib.contextmanager
def _stages(src: str, num_stages: int, progress: Optional[bool]):
    """A bar over a conversion's stages (reading a 1 GB checkpoint, checking
    it against a built detector and writing it each take seconds)."""
    with progress_bar(
            total=num_stages,
            desc=f'converting {src}',
            unit='stage',
            enabled=progress) as bar:

        def stage(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        yield stage


def _refuse_detector_checkpoint(state_dict: dict, src: str) -> None:
    found = detector_checkpoint_keys(state_dict)
    if found:
        raise ConversionError(
            f'{src} is already an MMDetection detector checkpoint (keys like '
            f'{", ".join(found)}): no conversion needed, fine-tune from it '
            f'with --cfg-options load_from={src}. The converters take SoCo '
            'pretraining checkpoints (work_dirs/<soco config>/epoch_N.pth).')


def _convert_checked(src: str,
                     net: str,
                     arch: Optional[str],
                     config: Optional[str],
                     arch_config: Optional[str],
                     stage=lambda name: None):
    state_dict, meta = load_state_dict_and_meta(src)
    stage('read')
    _refuse_detector_checkpoint(state_dict, src)
    converted, report = soco_to_mmdet(state_dict, net=net, arch=arch)
    stage('renamed')
    arch = 'c4' if any(
        k.startswith('roi_head.shared_head.') for k in converted) else 'fpn'
    picked = ''
    if config is not None:
        destination = detector_destination_shapes(config)
        against = config
    else:
        against = arch_config
        if against is None:
            depth = recorded_backbone_depth(meta)
            against = arch_config_for(arch, depth, src)
            if depth is not None:
                picked = f' (ResNet-{depth}, from the checkpoint\'s meta.cfg)'
        destination = arch_destination_shapes(against)
    extra = check_against_destination(converted, destination)
    stage('checked')
    text = report.format()
    text += f'\nchecked against {against}{picked}: {len(destination)} ' \
            'tensors, all present with matching shapes'
    if extra:
        text += f'\nnot in the destination (kept): {len(extra)} keys, e.g. ' \
                + ', '.join(extra[:5])
    return converted, arch, text


def convert_to_mmdet(src: str,
                     dst: str,
                     net: str = 'online',
                     arch: Optional[str] = None,
                     config: Optional[str] = None,
                     arch_config: Optional[str] = None,
                     progress: Optional[bool] = None) -> str:
    """SoCo checkpoint -> mmdet checkpoint for ``load_from``."""
    with _stages(src, 4, progress) as stage:
        converted, arch, text = _convert_checked(src, net, arch, config,
                                                 arch_config, stage)
        save_checkpoint_atomic(
            dict(
                meta=dict(
                    source=str(src),
                    net=net,
                    arch=arch,
                    converter='mmsoco soco2mmdet'),
                state_dict=converted), dst)
        stage('written')
    return text + f'\nwrote {dst}'


def convert_to_detectron2(src: str,
                          dst: str,
                          net: str = 'online',
                          arch: Optional[str] = None,
                          config: Optional[str] = None,
                          arch_config: Optional[str] = None,
                          progress: Optional[bool] = None) -> str:
    """SoCo checkpoint -> detectron2 ``.pkl`` (``MODEL.WEIGHTS``)."""
    with _stages(src, 4, progress) as stage:
        converted, arch, text = _convert_checked(src, net, arch, config,
                                                 arch_config, stage)
        model, counts = mmdet_to_detectron2(converted, arch)
        save_pickle_atomic(detectron2_checkpoint(model), dst)
        stage('written')
    text += '\ndetectron2 names: ' + ', '.join(
        f'{k}: {v}' for k, v in sorted(counts.items()))
    return text + f'\nwrote {dst}'


def export_backbone(src: str,
                    dst: str,
                    net: str = 'online',
                    torchvision: bool = False,
                    progress: Optional[bool] = None) -> str:
    """SoCo / BYOL checkpoint -> ResNet weights.

    mmdet layout (default): ``{'meta', 'state_dict'}`` for a backbone's
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``. torchvision layout:
    a bare state dict for ``torchvision.models.resnet50().load_state_dict(
    ..., strict=False)`` (only the classifier ``fc`` is missing).
    """
    with _stages(src, 3, progress) as stage:
        state_dict = load_state_dict(src)
        stage('read')
        backbone, counts = extract_backbone(state_dict, net, torchvision)
        stage('extracted')
        if torchvision:
            save_checkpoint_atomic(dict(backbone), dst)
        else:
            save_checkpoint_atomic(
                dict(
                    meta=dict(
                        source=str(src),
                        net=net,
                        converter='mmsoco extract_backbone'),
                    state_dict=backbone), dst)
        stage('written')
    lines = [f'{k}: {v}' for k, v in sorted(counts.items())]
    return '\n'.join(lines) + f'\nwrote {dst} ({len(backbone)} tensors, ' \
        f'{"torchvision" if torchvision else "mmdet"} names)'


def convert_from_args(convert, args) -> str:
    """Run ``convert_to_mmdet`` / ``convert_to_detectron2`` with a
    converter tool's parsed arguments; return its report."""
    from mmsoco.utils.setup_env import ignore_pkg_resources_deprecation
    ignore_pkg_resources_deprecation()
    return convert(
        args.src,
        args.dst,
        net=args.net,
        arch=args.arch,
        config=args.config,
        arch_config=args.arch_config,
        progress=enabled_by(args))


def add_checkpoint_arguments(parser, src_help: str, dst_help: str) -> None:
    """``SRC DST [--net online|target] [--quiet]``: what every converter
    tool reads."""
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help=dst_help)
    parser.add_argument(
        '--net',
        choices=['online', 'target'],
        default='online',
        help='online network (default) or the EMA target')
    add_quiet_argument(parser)


def add_detector_arguments(parser, dst_help: str) -> None:
    """:func:`add_checkpoint_arguments` for a SoCo checkpoint, and how the
    detector converters find and check the architecture
    (:func:`convert_from_args` reads them)."""
    add_checkpoint_arguments(parser, 'SoCo checkpoint (mmengine .pth)',
                             dst_help)
    parser.add_argument(
        '--arch',
        choices=['fpn', 'c4'],
        help='architecture; detected from the keys if unset')
    check = parser.add_mutually_exclusive_group()
    check.add_argument(
        '--config',
        help='mmdet fine-tuning config whose detector the converted '
        'tensors are checked against')
    check.add_argument(
        '--arch-config',
        help='architecture base file to check against (default: the '
        'configs/_base_/models file of the ResNet depth recorded in the '
        "checkpoint's meta.cfg, else r50_fpn_4conv1fc.py or r50_c4.py)")

"""What the tools share: config loading and launch set-up.

Kept here, not in the tools, so tests can call it and the tools stay thin.
:func:`load_config` is every tool's way to read a config;
:func:`load_launch_config` adds what ``tools/train.py`` and ``tools/test.py``
set on it.
"""
import math
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """``config`` with ``--cfg-options`` merged in, as every tool reads it.

    Without setuptools' pkg_resources notice, which mmengine triggers once
    per ``mmdet::`` base (:func:`~mmsoco.utils.setup_env.
    ignore_pkg_resources_deprecation`).

    Raises:
        FileNotFoundError: no such file.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    from mmsoco.utils.setup_env import ignore_pkg_resources_deprecation
    ignore_pkg_resources_deprecation()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_config_or_exit(config: str,
                        cfg_options: Optional[dict] = None) -> Config:
    """:func:`load_config` for a command-line tool: a missing config file
    ends the tool with one line naming it, not a traceback."""
    try:
        return load_config(config, cfg_options)
    except FileNotFoundError as err:
        raise SystemExit(str(err)) from None


def load_launch_config(config: str,
                       launcher: str = 'none',
                       cfg_options: Optional[dict] = None,
                       work_dir: Optional[str] = None) -> Config:
    """Load ``config`` and apply the command-line conventions of mmdet's tools.

    ``work_dir`` priority: argument > config > ``./work_dirs/<config name>``.
    """
    cfg = load_config(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


CPU_DDP_TYPE = 'mmsoco.models.wrappers.CPUDistributedDataParallel'


def setup_cpu_distributed(cfg: Config) -> bool:
    """Make a ``--launcher pytorch`` run work on machines without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` (which a CPU build
    of torch does not have) and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]`` (which DDP refuses for CPU modules). On a CPU
    machine we therefore start the gloo process group ourselves (mmengine skips
    its own when one exists) and wrap the model with ``device_ids=None``.
    Still plain PyTorch DDP through mmengine, as on GPUs.

    DDP also refuses SyncBN layers in a CPU module, and the paper's recipes
    use SyncBN. The wrapper is therefore ``CPUDistributedDataParallel``
    (``mmsoco/models/wrappers/cpu_distributed.py``), which reverts them to BN
    with a warning counting them, after the Runner built the model and before
    DDP wraps it. A config's own ``model_wrapper_cfg`` keeps its options; a
    wrapper type other than ``MMDistributedDataParallel`` is kept as well.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    import torch.distributed as dist

    # merge_from_dict, not setdefault: Config.setdefault returns a copy of a
    # missing entry, so writing into it changed nothing.
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(cfg.get('model_wrapper_cfg', None) or {})
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        # An import path, not the registered name: mmengine's
        # Runner.wrap_model looks the type up in its root registry, which
        # does not see the names of mmsoco's (a grandchild's) registry.
        wrapper['type'] = CPU_DDP_TYPE
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def apply_train_flags(cfg: Config,
                      amp: bool = False,
                      auto_scale_lr: bool = False,
                      resume: Optional[str] = None) -> Config:
    """``--amp``, ``--auto-scale-lr`` and ``--resume [PATH]`` as in mmdet."""
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        scale = cfg.get('auto_scale_lr', None)
        if not scale or 'enable' not in scale or 'base_batch_size' not in scale:
            raise RuntimeError('Can not find "auto_scale_lr.enable" and '
                               '"auto_scale_lr.base_batch_size" in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint {resume} not found')
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def init_cfgs(node, path: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(config path, dict)`` of every ``init_cfg`` entry under ``node``
    (an ``init_cfg`` may be one dict or a list of them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f'{path}.{key}'
            if key == 'init_cfg':
                items = value if isinstance(value, (list, tuple)) else [value]
                yield from ((where, item) for item in items
                            if isinstance(item, dict))
            else:
                yield from init_cfgs(value, where)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from init_cfgs(value, f'{path}[{index}]')


def untyped_init_cfgs(node, path: str = 'model') -> List[str]:
    """The config paths of every ``init_cfg`` under ``node`` that has no
    ``type``.

    ``--cfg-options model.init_cfg.checkpoint=PATH`` on a config without an
    ``init_cfg`` there makes such a dict, which mmengine's initialiser only
    reports as ``KeyError: 'type'`` once the whole runner is built.
    """
    return [
        where for where, item in init_cfgs(node, path) if 'type' not in item
    ]


def untyped_init_cfg_reason(cfg: Config) -> Optional[str]:
    """Why the model's initialisation cannot be built, naming the fix, or
    None."""
    paths = untyped_init_cfgs(cfg.get('model', {}))
    if not paths:
        return None
    where = paths[0]
    return (f'{where} has no type ({", ".join(paths)}): the config has no '
            f'init_cfg there, so --cfg-options set only some of its keys; '
            f'name the initialiser too, e.g. {where}.type=PretrainedBackbone '
            f'(a warm start from a backbone checkpoint: README, "Start from '
            f'a checkpoint you have") or {where}.type=Pretrained '
            f"(mmengine's, a whole-model checkpoint)")


def local_checkpoints(cfg: Config) -> List[Tuple[str, str]]:
    """``(setting, path)`` of every local file a training run reads weights
    from before its first step: ``load_from`` and each ``init_cfg``'s
    ``checkpoint`` under ``model`` (URLs and ``scheme://`` names, which
    mmengine resolves or the warm start refuses with its own message, left
    out)."""
    found = [('load_from', str(cfg.load_from))] if cfg.get('load_from') else []
    found += [(f'{where}.checkpoint', str(item['checkpoint']))
              for where, item in init_cfgs(cfg.get('model', {}))
              if item.get('checkpoint')]
    return [(where, path) for where, path in found if '://' not in path]


def missing_checkpoint_reason(cfg: Config) -> Optional[str]:
    """The first local checkpoint of :func:`local_checkpoints` that does not
    exist, named with its setting, or None. Checked before anything is
    built: mmengine would find it only after building the datasets and the
    model."""
    for where, path in local_checkpoints(cfg):
        if not osp.isfile(osp.expanduser(path)):
            return (f'{where} {path} not found: set {where}=PATH' +
                    (' (or model.init_cfg=None to start from random weights)'
                     if where == 'model.init_cfg.checkpoint' else ''))
    return None


def weights_config_reason(cfg: Config) -> Optional[str]:
    """Why a training run of ``cfg`` could not initialise its weights (an
    ``init_cfg`` without its type, a local weights file that is not there),
    or None: what ``tools/train.py`` and ``tools/demo.py`` refuse before
    building anything."""
    return untyped_init_cfg_reason(cfg) or missing_checkpoint_reason(cfg)


def apply_show_flags(cfg: Config,
                     show: bool = False,
                     show_dir: Optional[str] = None,
                     wait_time: float = 2.) -> Config:
    """``--show`` / ``--show-dir`` / ``--wait-time`` of mmdet's ``test.py``.

    Turns on drawing in the config's ``default_hooks.visualization`` (mmdet's
    ``DetVisualizationHook``): each test image with its predictions is shown
    and / or written to ``show_dir``, which, when relative, is a folder of the
    run's ``WORK_DIR/<timestamp>/`` (as in mmdet).
    """
    if not show and not show_dir:
        return cfg
    hook = cfg.get('default_hooks', {}).get('visualization', None)
    if not hook:
        raise ValueError(
            '--show / --show-dir draw with default_hooks.visualization '
            "(e.g. dict(type='DetVisualizationHook')), which this config "
            'does not have')
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        hook['test_out_dir'] = show_dir
    return cfg


def amp_unavailable_reason() -> Optional[str]:
    """Why ``--amp`` cannot run on this machine, or None when it can.

    mmengine's ``AmpOptimWrapper`` asserts a CUDA, NPU, MLU or MUSA device,
    but only once the model is built; the tools ask first.
    """
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    if (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available()):
        return None
    return ('--amp needs a GPU (CUDA, NPU, MLU or MUSA) and this machine has '
            'none: leave out --amp to train in fp32 on the CPU')


def empty_epoch_reason(num_images: int, batch_size: int, world_size: int,
                       drop_last: bool) -> Optional[str]:
    """Why an epoch of ``num_images`` has no batch, or None when it has one.

    mmengine's ``DefaultSampler`` gives each of ``world_size`` processes
    ``ceil(num_images / world_size)`` images; with ``drop_last`` a process
    with fewer than ``batch_size`` of them has no batch at all, and mmengine
    then fails far from the cause (``epoch_length must be a positive
    integer, but got 0``).
    """
    per_process = math.ceil(num_images / max(world_size, 1))
    if per_process > 0 and (per_process >= batch_size or not drop_last):
        return None
    if num_images == 0:
        return 'the training set has no images'
    spread = '' if world_size <= 1 else (
        f' over {world_size} processes = {per_process} per process')
    return (f'the training set has {num_images} images{spread} < batch '
            f'{batch_size} (drop_last): not one batch per epoch; lower '
            'train_dataloader.batch_size or train on more images')


def empty_train_epoch(runner) -> Optional[str]:
    """Build ``runner``'s training loop now; why its epoch has no batch, or None.

    ``Runner.train`` uses the loop built here. Iteration-based loops draw from
    an infinite sampler and are not checked.
    """
    from mmengine.dist import get_world_size
    from mmengine.runner import EpochBasedTrainLoop
    loop = runner.train_loop
    if not isinstance(loop, EpochBasedTrainLoop) or len(loop.dataloader):
        return None
    dataloader = loop.dataloader
    return empty_epoch_reason(
        len(dataloader.dataset), dataloader.batch_size, get_world_size(),
        bool(getattr(dataloader.batch_sampler, 'drop_last', False)))


def set_local_rank_env(local_rank: int) -> None:
    """torchrun sets LOCAL_RANK; the legacy launcher passes --local-rank."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def build_runner(cfg: Config):
    """The default Runner, or ``cfg.runner_type`` from the registry."""
    from mmengine.runner import Runner

    from mmsoco.registry import RUNNERS
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


__all__: Sequence[str] = [
    'load_config', 'load_config_or_exit', 'load_launch_config',
    'setup_cpu_distributed', 'apply_train_flags', 'set_local_rank_env',
    'build_runner', 'apply_show_flags', 'amp_unavailable_reason',
    'empty_epoch_reason', 'empty_train_epoch'
]

"""What ``tools/train.py`` and ``tools/test.py`` share: config loading and launch set-up.

Kept here, not in the tools, so tests can call it and the tools stay thin.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config


def load_launch_config(config: str,
                       launcher: str = 'none',
                       cfg_options: Optional[dict] = None,
                       work_dir: Optional[str] = None) -> Config:
    """Load ``config`` and apply the command-line conventions of mmdet's tools.

    ``work_dir`` priority: argument > config > ``./work_dirs/<config name>``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    from mmsoco.utils.setup_env import ignore_pkg_resources_deprecation
    ignore_pkg_resources_deprecation()
    cfg = Config.fromfile(config)
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
    'load_launch_config', 'setup_cpu_distributed', 'apply_train_flags',
    'set_local_rank_env', 'build_runner'
]

"""tools/analysis_tools/get_flops.py against an independent count: forward
hooks on every Conv2d / Linear that runs, out elements x in-channels x
kernel area multiply-adds each. The tool's tracer also counts BN, pooling
and upsampling (a few percent at most) and gives RoIAlign 0, so its number
lies between the hook count and a little above it."""
import importlib.util
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from tool_runs import PKG_RESOURCES_NOTICE, run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOCO_DEMO = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
DEMO_FT = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                   'mask-rcnn_r18-fpn_demo.py')


def _tool():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hooked_macs(networks, run):
    """Multiply-adds of every Conv2d / Linear call during ``run()``, per
    network: ``{name: [modules]}`` -> ``{name: count}``."""
    totals = {name: 0 for name in networks}

    def conv(name):

        def hook(m, inputs, out):
            kh, kw = m.kernel_size
            totals[name] += out.numel() * m.in_channels // m.groups * kh * kw

        return hook

    def linear(name):

        def hook(m, inputs, out):
            totals[name] += out.numel() * m.in_features

        return hook

    handles = []
    for name, modules in networks.items():
        for m in (m for module in modules for m in module.modules()):
            if isinstance(m, nn.Conv2d):
                handles.append(m.register_forward_hook(conv(name)))
            elif isinstance(m, nn.Linear):
                handles.append(m.register_forward_hook(linear(name)))
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return totals


def _first_batch(tool, cfg):
    from mmengine.registry import DefaultScope

    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    DefaultScope.get_instance('get_flops_test', scope_name=cfg.default_scope)
    torch.manual_seed(0)
    model = tool.build_model(cfg)
    return model, next(tool.batches(cfg, model, 1))


def test_soco_counts_the_online_network_of_a_training_step(
        demo_data_root, tmp_path):
    """~15 s: tracing the reference head batching (each box set on every
    FPN level) is most of it."""
    tool = _tool()
    cfg = Config.fromfile(SOCO_DEMO)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root':
        str(demo_data_root),
        'train_dataloader.dataset.pipeline.1.cache_dir':
        str(tmp_path)
    })
    model, data = _first_batch(tool, cfg)
    assert tool.is_pretraining(model)
    with torch.no_grad():
        counted = tool.pretraining_flops(model, data)
    # The convolutions and linears of each network as the loss runs them
    # (every view, every box set, the recipe's head batching).
    macs = hooked_macs(
        dict(
            online=[model._online_parts(), model.predictor],
            target=[model.target]),
        lambda: model.loss(data['inputs'], data['data_samples']))
    for network in ('online', 'target'):
        assert macs[network] <= counted[network] <= 1.05 * macs[network]
    assert counted['train'] == 3 * counted['online'] + counted['target']


def test_detector_report_counts_its_tensor_forward(demo_data_root):
    """The report on the first val image (the test pipeline is not random)
    against the hooks on the same image. The tool runs as a user runs it:
    its config's ``mmdet::`` bases must not print the pkg_resources
    notice."""
    proc = run_tool('analysis_tools/get_flops.py', DEMO_FT, '--num-images',
                    '1', '--cfg-options',
                    f'val_dataloader.dataset.data_root={demo_data_root}')
    assert PKG_RESOURCES_NOTICE not in proc.stderr, proc.stderr[-2000:]
    tool = _tool()
    lines = proc.stdout.splitlines()
    report = lines[lines.index('=' * 30):]
    assert report[1] == ('Compute type: detector forward (tensor mode), one '
                         'val image at a time')
    flops = re.fullmatch(r'Flops: ([0-9.]+)G', report[3])
    params = re.fullmatch(r'Params: ([0-9.]+)M', report[4])

    cfg = Config.fromfile(DEMO_FT)
    cfg.val_dataloader.dataset.data_root = str(demo_data_root)
    model, data = _first_batch(tool, cfg)
    macs = hooked_macs(
        dict(all=[model]),
        lambda: model(data['inputs'], data['data_samples'], mode='tensor'))
    assert macs['all'] <= float(flops.group(1)) * 1e9 + 1e6
    assert float(flops.group(1)) * 1e9 <= 1.05 * macs['all']
    total = sum(p.numel() for p in model.parameters())
    assert float(params.group(1)) == round(total / 1e6, 3)


def test_missing_config_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match='config file .*nope.py does not'):
        _tool().main([str(tmp_path / 'nope.py')])


def test_num_images_below_one_is_refused(capsys):
    """A negative count would never stop the loop (the whole dataloader)."""
    for bad in ('0', '-1'):
        with pytest.raises(SystemExit):
            _tool().parse_args(['any.py', '--num-images', bad])
        assert f'--num-images must be at least 1, got {bad}' in \
            capsys.readouterr().err

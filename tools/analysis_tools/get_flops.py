"""FLOPs and parameters of a SoCo / BYOL pretraining or a fine-tune detector.

MMDetection's ``tools/analysis_tools/get_flops.py`` command line. What is
counted (``mmengine.analysis.FlopAnalyzer``: one multiply-add is one FLOP;
RoIAlign has no formula and counts 0):

- a detector (the fine-tune configs): its ``tensor``-mode forward
  (backbone, neck, RPN head, RoI heads, no post-processing) on images of the
  config's val dataloader, one at a time, averaged over ``--num-images``;
  parameters of the whole detector (as mmdet's tool);
- SoCo / BYOL (the pretraining configs): on samples of the config's train
  pipeline, one at a time (the views and box sets it makes), the forward of
  the online network over every view and box set with the model's head
  batching, the EMA target's forward, and a training step counted as
  3 x online + target (``mmsoco/models/utils/flop_count.py``); parameters of
  the online network (the target is a copy, the predictor is online only).

SyncBN is reverted to BN first, so this runs on one CPU process.
"""
import argparse
from typing import Dict, Iterator

import numpy as np
import torch
from mmengine.config import Config, DictAction

import mmsoco  # noqa: F401  (installs the weights-only checkpoint allow-list)
from mmsoco.utils.launch import load_config_or_exit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--num-images',
        type=int,
        default=10,
        help='images (samples) to average the FLOPs over')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.num_images < 1:
        parser.error(f'--num-images must be at least 1, got {args.num_images}')
    return args


def is_pretraining(model) -> bool:
    """SoCo / BYOL: an online network with an EMA target."""
    return hasattr(model, 'target') and hasattr(model, '_online_parts')


def build_model(cfg: Config):
    """The config's model in eval mode, SyncBN reverted to BN."""
    from mmengine.model import revert_sync_batchnorm

    from mmsoco.registry import MODELS
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    return model


def batches(cfg: Config, model, num_images: int) -> Iterator[dict]:
    """Preprocessed batches of one sample each: the train pipeline for a
    pretraining (its views and boxes), the val pipeline for a detector."""
    from mmengine.runner import Runner
    split = 'train' if is_pretraining(model) else 'val'
    loader_cfg = cfg[f'{split}_dataloader']
    loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    loader = Runner.build_dataloader(loader_cfg)
    for index, data in enumerate(loader):
        if index == num_images:
            break
        yield model.data_preprocessor(data, training=False)


def _count(module: torch.nn.Module, inputs: tuple) -> int:
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total()


class _TensorForward(torch.nn.Module):
    """A detector's tensor-mode forward with its data samples bound."""

    def __init__(self, detector, data_samples):
        super().__init__()
        self.detector, self.data_samples = detector, data_samples

    def forward(self, inputs):
        return self.detector(inputs, self.data_samples, mode='tensor')


def detector_flops(model, data: dict) -> Dict[str, int]:
    return dict(
        forward=_count(
            _TensorForward(model, data['data_samples']), (data['inputs'], )))


def pretraining_flops(model, data: dict) -> Dict[str, int]:
    from mmsoco.models.utils.flop_count import train_step_flops
    return train_step_flops(model, data['inputs'], data['data_samples'])


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measure(cfg: Config, num_images: int) -> dict:
    """Mean FLOPs per sample (by what is counted), parameters, input shapes."""
    from mmengine.registry import DefaultScope

    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        model = build_model(cfg)
        pretraining = is_pretraining(model)
        count = pretraining_flops if pretraining else detector_flops
        counts, shapes = [], None
        with torch.no_grad():
            for data in batches(cfg, model, num_images):
                counts.append(count(model, data))
                inputs = data['inputs']
                views = inputs if isinstance(inputs, list) else [inputs]
                shapes = [tuple(v.shape[1:]) for v in views]
    if not counts:
        raise SystemExit(f'the {"train" if pretraining else "val"} '
                         'dataset of the config gave no sample')
    params = num_params(model._online_parts() if pretraining else model) + (
        num_params(model.predictor) if pretraining else 0)
    return dict(
        kind='pretraining' if pretraining else 'detector',
        flops={k: float(np.mean([c[k] for c in counts]))
               for k in counts[0]},
        params=params,
        input_shapes=shapes,
        num_images=len(counts))


def report(result: dict) -> str:
    from mmengine.analysis.print_helper import _format_size
    line = '=' * 30
    shapes = ', '.join('x'.join(map(str, s)) for s in result['input_shapes'])
    rows = [line]
    if result['kind'] == 'detector':
        rows += [
            'Compute type: detector forward (tensor mode), one val image at a '
            'time', f'Input shape: {shapes} (last image)',
            f'Flops: {_format_size(int(result["flops"]["forward"]))}',
            f'Params: {_format_size(result["params"])}'
        ]
    else:
        flops = {k: _format_size(int(v)) for k, v in result['flops'].items()}
        rows += [
            'Compute type: one training sample (its views and box sets)',
            f'Views: {shapes} (last sample)',
            f'Flops, online network forward: {flops["online"]}',
            f'Flops, EMA target forward: {flops["target"]}',
            f'Flops, training step (3 x online + target): {flops["train"]}',
            f'Params (online network): {_format_size(result["params"])}'
        ]
    rows += [
        f'Averaged over {result["num_images"]} samples; RoIAlign counts 0.',
        line
    ]
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config_or_exit(args.config, args.cfg_options)
    print(report(measure(cfg, args.num_images)))


if __name__ == '__main__':
    main()

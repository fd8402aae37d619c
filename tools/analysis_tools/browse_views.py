"""Look at SoCo's views and boxes as the pipeline of a config makes them.

    python tools/analysis_tools/browse_views.py \\
        configs/_base_/datasets/soco_demo.py \\
        --output-dir work_dirs/views --num 8

For each sample, one PNG: the source image with all its proposals (thin gray)
and the sampled ones (labelled ``image: N proposals, K sampled``), then every
view with its boxes (``V1``, ``V2 flip``, ...); one proposal has one colour
everywhere (whole-view fallback boxes are white); cutout squares are painted
in the ImageNet mean colour (the preprocessor's 0). ``--no-photometric`` shows
the views before colour augmentation. The pipeline runs up to, not including,
``PackSoCoInputs``. A dataset with fewer than ``--num`` images gives one PNG
per image, and says so.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import DictAction

from mmsoco.utils.launch import load_config_or_exit
from mmsoco.utils.progress import add_quiet_argument, enabled_by, track
from mmsoco.visualization import (UNSAMPLED_COLOUR, draw_boxes, fill_squares,
                                  label, mosaic, to_height, write_image)

PANEL_HEIGHT = 224


def render_views(results: dict, height: int = PANEL_HEIGHT) -> np.ndarray:
    """One BGR mosaic: the source image with its proposals, then each view
    (at its own pixel size, padded to ``height``) with its boxes."""
    src = results['img']
    scale = height / src.shape[0]
    sampled = sorted({
        int(i)
        for view in results['views']
        for i in view['proposal_ids'] if i >= 0
    })
    proposals = np.asarray(results.get('proposals', np.zeros((0, 4))))
    proposal_ids = np.asarray(results.get('proposal_ids', []))
    num_sampled = int(np.isin(proposal_ids, sampled).sum())
    # labelled first: the boxes stay on top
    panel = label(
        to_height(src, height),
        f'image: {len(proposals)} proposals, {num_sampled} sampled')
    if len(proposals):
        chosen = np.isin(proposal_ids, sampled)
        panel = draw_boxes(
            panel,
            proposals[~chosen],
            scale=scale,
            thickness=1,
            colour=UNSAMPLED_COLOUR)
        panel = draw_boxes(panel, proposals[chosen], proposal_ids[chosen],
                           scale)
    panels = [panel]
    squares = results.get('cutout_squares', [()] * len(results['views']))
    for index, view in enumerate(results['views']):
        img = fill_squares(view['img'], squares[index])
        img = draw_boxes(img, view['bboxes'], view['proposal_ids'])
        panels.append(
            label(img, f"V{index + 1}{' flip' if view['flip'] else ''}"))
    return mosaic(panels, height)


def build_browse_dataset(cfg, photometric: bool = True):
    """The config's training dataset with its pipeline cut before
    ``PackSoCoInputs`` (and without ``ApplyToViews`` if not photometric)."""
    from mmengine.registry import init_default_scope

    from mmsoco.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmsoco'))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    pipeline = []
    for step in dataset_cfg.pipeline:
        if step['type'] == 'PackSoCoInputs':
            break
        if not photometric and step['type'] == 'ApplyToViews':
            continue
        pipeline.append(step)
    if not any(s['type'] == 'MultiViewBoxJitter' for s in pipeline):
        raise ValueError('the config\'s train pipeline has no '
                         'MultiViewBoxJitter step: nothing to browse')
    dataset_cfg.pipeline = pipeline
    return DATASETS.build(dataset_cfg)


def browse_views(cfg,
                 output_dir: str,
                 num: int = 8,
                 seed: int = 0,
                 photometric: bool = True,
                 progress: Optional[bool] = None) -> List[str]:
    """Write ``num`` view mosaics of the config's dataset (one per image if
    it has fewer, with a note on stderr); return the paths."""
    dataset = build_browse_dataset(cfg, photometric)
    if len(dataset) < num:
        print(
            f'browse_views: the dataset has {len(dataset)} images, fewer '
            f'than --num {num}: writing {len(dataset)} mosaics',
            file=sys.stderr)
    np.random.seed(seed)
    paths = []
    for index in track(
            range(min(num, len(dataset))),
            desc='browse_views',
            unit='img',
            enabled=progress):
        results = dataset[index]
        name = osp.splitext(osp.basename(results['img_path']))[0]
        path = osp.join(output_dir, f'{index:04d}_{name}.png')
        write_image(path, render_views(results))
        paths.append(path)
    return paths


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write PNGs of SoCo views and boxes')
    parser.add_argument('config', help='config with a SoCo train pipeline')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--no-photometric',
        action='store_true',
        help='show the views before colour augmentation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides, as in tools/train.py')
    add_quiet_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config_or_exit(args.config, args.cfg_options)
    paths = browse_views(cfg, args.output_dir, args.num, args.seed,
                         not args.no_photometric, enabled_by(args))
    for path in paths:
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())

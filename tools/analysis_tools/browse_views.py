"""Look at SoCo's views and boxes as the pipeline of a config makes them.

    python tools/analysis_tools/browse_views.py \\
        configs/_base_/datasets/soco_demo.py \\
        --output-dir work_dirs/views --num 8

For each sample, one PNG: the source image with all its proposals (thin gray)
and the sampled ones, then every view with its boxes; one proposal has one
colour everywhere (whole-view fallback boxes are white); cutout squares are
painted in the ImageNet mean colour (the preprocessor's 0). ``--no-photometric``
shows the views before colour augmentation. The pipeline runs up to, not
including, ``PackSoCoInputs``.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import Config, DictAction

PANEL_HEIGHT = 224
WHOLE_VIEW_COLOUR = (255, 255, 255)
UNSAMPLED_COLOUR = (128, 128, 128)
CUTOUT_COLOUR = (104, 116, 124)  # BGR ImageNet mean: 0 once normalised


def colour_for_id(proposal_id: int) -> tuple:
    """A bright BGR colour per proposal id (golden-ratio hue steps);
    white for the whole-view fallback id -1."""
    if proposal_id < 0:
        return WHOLE_VIEW_COLOUR
    hue = int((proposal_id * 0.618033988749895 % 1.0) * 180)
    hsv = np.uint8([[[hue, 255, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_boxes(img: np.ndarray,
               boxes: np.ndarray,
               ids: Sequence[int],
               scale: float = 1.0,
               thickness: int = 2) -> np.ndarray:
    """Draw x1y1x2y2 boxes (x2 exclusive) scaled by ``scale`` on a copy."""
    canvas = np.ascontiguousarray(img).copy()
    for box, pid in zip(np.asarray(boxes).reshape(-1, 4), ids):
        x1, y1, x2, y2 = box * scale
        cv2.rectangle(canvas, (int(round(x1)), int(round(y1))),
                      (int(round(x2)) - 1, int(round(y2)) - 1),
                      colour_for_id(int(pid)), thickness)
    return canvas


def show_cutout(img: np.ndarray, squares) -> np.ndarray:
    """A copy of a view with its cutout squares in the ImageNet mean colour
    (what the data preprocessor's 0 after normalisation looks like)."""
    canvas = np.ascontiguousarray(img).copy()
    for x1, y1, x2, y2 in np.asarray(squares, dtype=np.int64).reshape(-1, 4):
        canvas[y1:y2, x1:x2] = CUTOUT_COLOUR
    return canvas


def _to_height(img: np.ndarray, height: int) -> np.ndarray:
    scale = height / img.shape[0]
    width = max(1, int(round(img.shape[1] * scale)))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


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
    panel = _to_height(src, height)
    if len(proposals):
        unsampled = ~np.isin(proposal_ids, sampled)
        for box in proposals[unsampled] * scale:
            x1, y1, x2, y2 = box.round().astype(int)
            cv2.rectangle(panel, (x1, y1), (x2 - 1, y2 - 1), UNSAMPLED_COLOUR,
                          1)
        chosen = np.isin(proposal_ids, sampled)
        panel = draw_boxes(panel, proposals[chosen], proposal_ids[chosen],
                           scale)
    panels = [panel]
    squares = results.get('cutout_squares', [()] * len(results['views']))
    for index, view in enumerate(results['views']):
        img = show_cutout(view['img'], squares[index])
        img = draw_boxes(img, view['bboxes'], view['proposal_ids'])
        label = f"V{index + 1}{' flip' if view['flip'] else ''}"
        cv2.putText(img, label, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        if img.shape[0] > height:
            img = _to_height(img, height)
        padded = np.zeros((height, img.shape[1], 3), np.uint8)
        padded[:img.shape[0]] = img
        panels.append(padded)
    gap = np.full((height, 4, 3), 255, np.uint8)
    row = []
    for p in panels:
        row += [p, gap]
    return np.concatenate(row[:-1], axis=1)


def write_png(path: str, img: np.ndarray) -> None:
    """Write a PNG atomically (temp file in the same folder, then rename)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.png', dir=folder)
    os.close(fd)
    try:
        if not cv2.imwrite(tmp, img, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f'cannot write {path}')
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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
                 photometric: bool = True) -> List[str]:
    """Write ``num`` view mosaics of the config's dataset; return the paths."""
    dataset = build_browse_dataset(cfg, photometric)
    np.random.seed(seed)
    paths = []
    for index in range(min(num, len(dataset))):
        results = dataset[index]
        name = osp.splitext(osp.basename(results['img_path']))[0]
        path = osp.join(output_dir, f'{index:04d}_{name}.png')
        write_png(path, render_views(results))
        paths.append(path)
    return paths


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write PNGs of SoCo views and boxes')
    parser.add_argument('config', help='config with a SoCo train pipeline')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-photometric',
                        action='store_true',
                        help='show the views before colour augmentation')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='key=value overrides, as in tools/train.py')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    paths = browse_views(cfg, args.output_dir, args.num, args.seed,
                         not args.no_photometric)
    for path in paths:
        print(path)
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..',
                                            '..')))
    sys.exit(main())

"""`make demo`: SoCo pretraining end to end on the embedded demo data.

1. Generates the demo dataset on first use (data/demo, cached).
2. Trains configs/soco/soco_r18fpn_demo.py on the CPU (a few minutes).
3. Prints the loss at the start and the end, where the checkpoint is, and the
   next command (conversion to an MMDetection checkpoint).
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'soco2mmdet.py')
FINETUNE_CONFIG = 'configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'demo'),
        help='where the demo dataset is generated / cached')
    parser.add_argument(
        '--work-dir', default=osp.join(REPO, 'work_dirs', 'soco_r18fpn_demo'))
    parser.add_argument(
        '--num-images',
        type=int,
        default=300,
        help='images in the generated demo dataset')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=None,
        help='extra overrides for the demo config, as in tools/train.py')
    return parser.parse_args()


def _loss_curve(work_dir):
    """(iteration, loss) pairs from the run's scalars.json, oldest first."""
    runs = sorted(
        d for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        return []
    curve = []
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        for line in f:
            record = json.loads(line)
            if 'loss' in record and 'iter' in record:
                curve.append((record['iter'], record['loss']))
    return curve


def _point_at_demo_data(cfg, root):
    """Use ``root`` for the images and for the on-the-fly proposal cache."""
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = root
    for step in dataset.pipeline:
        if step.get('type') == 'SelectiveSearchProposals':
            step['cache_dir'] = osp.join(root, 'proposal_cache')


def main():
    args = parse_args()
    from mmsoco.datasets.demo_cache import ensure_demo_dataset
    root = ensure_demo_dataset(args.data_root, num_images=args.num_images)
    print(f'demo data ready: {root}')

    if not osp.isfile(DEMO_CONFIG):
        print('SoCo pretraining is not available yet: '
              f'{osp.relpath(DEMO_CONFIG, REPO)} does not exist. '
              'Only the demo data was prepared.')
        return 1

    from mmengine.config import DictAction

    import mmsoco  # noqa: F401
    from mmsoco.utils import register_all_modules
    from mmsoco.utils.launch import build_runner, load_launch_config

    cfg_options = None
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg_options = parser.parse_args(['--o', *args.cfg_options]).o
    register_all_modules(init_default_scope=False)
    cfg = load_launch_config(DEMO_CONFIG, 'none', cfg_options, args.work_dir)
    _point_at_demo_data(cfg, str(root))
    runner = build_runner(cfg)
    runner.train()

    curve = _loss_curve(args.work_dir)
    if curve:
        head = curve[:max(1, len(curve) // 5)]
        tail = curve[-max(1, len(curve) // 5):]
        first = sum(v for _, v in head) / len(head)
        last = sum(v for _, v in tail) / len(tail)
        print(f'loss: {first:.4f} (first logged iterations) -> '
              f'{last:.4f} (last logged iterations)')
    ckpt_file = osp.join(args.work_dir, 'last_checkpoint')
    ckpt = open(ckpt_file).read().strip() if osp.isfile(ckpt_file) else None
    print(f'checkpoint: {ckpt}')
    if ckpt and osp.isfile(CONVERTER):
        out = osp.relpath(osp.join(args.work_dir, 'mmdet.pth'), REPO)
        print('next: convert it and fine-tune the matching Mask R-CNN on '
              'the demo data:\n'
              f'  .venv/bin/python tools/model_converters/soco2mmdet.py '
              f'{osp.relpath(ckpt, REPO)} {out} --config {FINETUNE_CONFIG}\n'
              f'  .venv/bin/python tools/train.py {FINETUNE_CONFIG} '
              f'--cfg-options load_from={out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

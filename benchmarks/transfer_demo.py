"""A small CPU transfer study on the demo data (SOCO_SPEC section 5, in
miniature): does SoCo pretraining help the detector fine-tuned from it?

1. pretrain SoCo with configs/soco/soco_r18fpn_demo.py on the demo images
   (tools/train.py; skipped when the checkpoint exists);
2. convert it (mmsoco.converters.convert_to_mmdet, checked against the
   detector);
3. fine-tune configs/benchmarks/mmdet/mask-rcnn_r18-fpn_demo.py twice with the
   same seed and schedule, from the converted SoCo weights and from scratch,
   and compare COCO bbox / segm mAP on the demo val split.

Each stage runs tools/train.py in a subprocess (a fresh Runner each) and is
resumable: a stage whose result file exists is not run again.

    python benchmarks/transfer_demo.py [--pretrain-epochs 20] \
        [--finetune-iters 300] [--write-readme]

With the demo's default 300 images this takes tens of minutes on 2 cores.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOCO_CONFIG = osp.join(REPO, 'configs', 'soco', 'soco_r18fpn_demo.py')
DET_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                      'mask-rcnn_r18-fpn_demo.py')
README = osp.join(REPO, 'benchmarks', 'README.md')
BEGIN, END = '<!-- transfer_demo:begin -->', '<!-- transfer_demo:end -->'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/transfer_demo')
    parser.add_argument('--num-images', type=int, default=300,
                        help='demo images to generate when data/demo is '
                        'missing')
    parser.add_argument('--pretrain-epochs', type=int, default=20)
    parser.add_argument('--finetune-iters', type=int, default=300)
    parser.add_argument('--img-scale', type=int, default=320)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--write-readme', action='store_true')
    args = parser.parse_args(argv)
    if args.pretrain_epochs < 2:
        parser.error('--pretrain-epochs must be >= 2 (warm-up + cosine)')
    if args.finetune_iters < 1:
        parser.error('--finetune-iters must be >= 1')
    return args


def _write(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def pretrain_config(work_dir, epochs, seed):
    """A config over the demo SoCo config with a shorter / longer schedule."""
    warmup = max(1, epochs // 10)
    text = f"""_base_ = {SOCO_CONFIG!r}
max_epochs = {epochs}
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={epochs})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0,
         end={warmup}, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max={max(1, epochs - warmup)},
         eta_min=1e-6, by_epoch=True, begin={warmup}, end={epochs},
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval={epochs}, max_keep_ckpts=1))
randomness = dict(seed={seed})
"""
    path = osp.join(work_dir, 'pretrain.py')
    _write(path, text)
    return path


def finetune_config(work_dir, arm, iters, img_scale, seed, load_from):
    """The demo detector config, iteration-based, one evaluation at the end."""
    step = max(1, int(iters * 0.75))
    text = f"""_base_ = {DET_CONFIG!r}
img_scale = ({img_scale}, {img_scale})
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')]))
_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                          'img_shape', 'scale_factor'))]
val_dataloader = dict(dataset=dict(pipeline=_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_test_pipeline))
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = dict(metric=['bbox', 'segm'])
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters},
                 val_interval={iters})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end={min(50, iters)}),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end={iters},
         milestones=[{step}], gamma=0.1)]
train_dataloader.update(sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval={iters}),
                     logger=dict(interval=20))
log_processor = dict(by_epoch=False)
randomness = dict(seed={seed})
load_from = {load_from!r}
"""
    path = osp.join(work_dir, f'finetune_{arm}.py')
    _write(path, text)
    return path


def run_train(config, work_dir):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
           '--work-dir', work_dir]
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, env=env)


def last_metrics(work_dir):
    """The last logged line holding COCO metrics (mmengine scalars.json)."""
    found = None
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'coco/bbox_mAP' in row:
                    found = row
    if found is None:
        raise RuntimeError(f'no COCO metrics logged under {work_dir}')
    return found


def ensure_demo_data(num_images):
    from mmsoco.datasets.demo import default_demo_dir, make_demo_dataset
    root = default_demo_dir()
    if not osp.isfile(osp.join(root, 'annotations', 'instances_val.json')):
        make_demo_dataset(root, num_images=num_images, seed=0, progress=True)
    return str(root)


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    ensure_demo_data(args.num_images)
    start = time.perf_counter()

    pre_dir = osp.join(work_dir, 'pretrain')
    soco_ckpt = osp.join(pre_dir, f'epoch_{args.pretrain_epochs}.pth')
    if not osp.isfile(soco_ckpt):
        run_train(pretrain_config(work_dir, args.pretrain_epochs, args.seed),
                  pre_dir)
    converted = osp.join(work_dir, 'soco_mmdet.pth')
    if not osp.isfile(converted):
        from mmsoco.converters import convert_to_mmdet
        print(convert_to_mmdet(soco_ckpt, converted, config=DET_CONFIG))

    results = {}
    for arm, load_from in (('soco', converted), ('scratch', None)):
        result_file = osp.join(work_dir, f'result_{arm}.json')
        if not osp.isfile(result_file):
            arm_dir = osp.join(work_dir, f'finetune_{arm}')
            run_train(finetune_config(work_dir, arm, args.finetune_iters,
                                      args.img_scale, args.seed, load_from),
                      arm_dir)
            _write(result_file, json.dumps(last_metrics(arm_dir)))
        with open(result_file) as f:
            results[arm] = json.load(f)

    table = format_table(results, args)
    print(table)
    print(f'({time.perf_counter() - start:.0f} s this run)')
    if args.write_readme:
        write_readme(table)


def format_table(results, args):
    keys = [('coco/bbox_mAP', 'bbox mAP'), ('coco/bbox_mAP_50', 'bbox AP50'),
            ('coco/segm_mAP', 'segm mAP'), ('coco/segm_mAP_50', 'segm AP50')]
    lines = [
        '## Transfer on the demo data (`benchmarks/transfer_demo.py`)', '',
        'Command: `.venv/bin/python benchmarks/transfer_demo.py '
        f'--pretrain-epochs {args.pretrain_epochs} --finetune-iters '
        f'{args.finetune_iters} --img-scale {args.img_scale} --seed '
        f'{args.seed} --write-readme`', '',
        'Mask R-CNN R18-FPN (mask-rcnn_r18-fpn_demo.py) fine-tuned for '
        f'{args.finetune_iters} iterations at batch 2 on the demo train '
        'split, evaluated on its val split; SoCo = initialised from '
        f'soco_r18fpn_demo.py pretrained {args.pretrain_epochs} epochs on '
        'the same images (no labels), converted with soco2mmdet. One seed: '
        'a smoke-scale comparison, not a result.', '',
    ]
    if args.finetune_iters < 100 or args.pretrain_epochs < 10:
        lines += [
            '**Plumbing check only** (pretrain -> convert -> fine-tune -> '
            'evaluate ran end to end); at this length the numbers mean nothing. '
            'The study proper is the default command: '
            '`.venv/bin/python benchmarks/transfer_demo.py --write-readme` '
            '(20 pretraining epochs, 300 fine-tuning iterations; not yet '
            'run).', ''
        ]
    lines += [
        '| init | ' + ' | '.join(k[1] for k in keys) + ' |',
        '|---|' + '---|' * len(keys)
    ]
    for arm, row in results.items():
        lines.append(f'| {arm} | ' + ' | '.join(
            f'{100 * row.get(k, float("nan")):.1f}' for k, _ in keys) + ' |')
    return '\n'.join(lines)


def write_readme(table):
    text = open(README).read() if osp.isfile(README) else '# Benchmarks\n'
    block = f'{BEGIN}\n{table}\n{END}'
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    _write(README, text)


if __name__ == '__main__':
    main()

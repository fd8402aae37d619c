"""The fine-tuning README's option for a quick run, ``--cfg-options
custom_hooks.0.num_iters=2``, parsed as tools/train.py parses it, lowers
PreciseBNHook's batches."""
import argparse
import glob
import os.path as osp
import re

from mmengine.config import Config, DictAction

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARKS = osp.join(REPO, 'configs', 'benchmarks', 'mmdet')


def test_the_documented_option_lowers_precise_bn():
    with open(osp.join(BENCHMARKS, 'README.md')) as f:
        text = ' '.join(f.read().split())
    option = re.search(r'--cfg-options (custom_hooks\.\S*num_iters=\d+)`',
                       text).group(1)
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    overrides = parser.parse_args(['--cfg-options', option]).cfg_options
    cfg = Config.fromfile(
        osp.join(BENCHMARKS, 'mask-rcnn_r50-fpn_soco_1x_coco.py'))
    cfg.merge_from_dict(overrides)
    assert [(h.type, h.num_iters)
            for h in cfg.custom_hooks] == [('mmsoco.PreciseBNHook', 2)]
    # every recipe takes its hooks from the one runtime file (so index 0
    # is the hook in each): no config sets custom_hooks itself
    setting = [
        path for path in glob.glob(
            osp.join(BENCHMARKS, '**', '*.py'), recursive=True)
        if 'custom_hooks' in open(path).read()
    ]
    assert setting == [osp.join(BENCHMARKS, '_base_', 'finetune_runtime.py')]

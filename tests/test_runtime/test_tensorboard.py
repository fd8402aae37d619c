"""The TensorBoard switch the README documents, on 2 iterations of the demo."""
import argparse
import re

from mmengine.config import DictAction
from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

from mmsoco.utils.launch import build_runner, load_launch_config

CONFIG = 'tests/data/configs/soco_r18fpn_tiny.py'
# Exactly the README's switch, parsed as tools/train.py parses it.
SWITCH = 'visualizer.vis_backends.0.type=TensorboardVisBackend'


def test_switch_writes_an_event_file_with_the_logged_loss(
        tmp_path, demo_data_root):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args([
        '--cfg-options', SWITCH,
        f'train_dataloader.dataset.data_root={demo_data_root}',
        f'train_dataloader.dataset.pipeline.1.cache_dir={tmp_path}/cache'
    ])
    cfg = load_launch_config(
        CONFIG, cfg_options=args.cfg_options, work_dir=str(tmp_path / 'work'))
    # The config names its visualizer 'visualizer'; mmengine hands back an
    # existing instance of that name (with its old backends) to a second
    # Runner in the same process, e.g. an earlier test's.
    cfg.visualizer.name = f'tensorboard_test_{tmp_path.name}'
    for view, size in zip(cfg.train_dataloader.dataset.pipeline[2]['views'],
                          (64, 64, 32)):  # smaller views: a faster test
        view['size'] = size
    build_runner(cfg).train()

    events = list((tmp_path / 'work').glob('*/vis_data/events.out.*'))
    assert len(events) == 1, events
    board = EventAccumulator(str(events[0]))
    board.Reload()
    assert {'loss', 'lr', 'momentum'} <= set(board.Tags()['scalars'])
    logged = board.Scalars('loss')
    assert [e.step for e in logged] == [1, 2]
    # The same numbers as the text log prints (an independent writer).
    text = next((tmp_path / 'work').glob('*/*.log')).read_text()
    printed = [float(v) for v in re.findall(r'\]\s.*?\sloss: ([\d.]+)', text)]
    assert len(printed) == 2, printed
    for event, value in zip(logged, printed):
        assert abs(event.value - value) < 1e-4, (event.value, value)

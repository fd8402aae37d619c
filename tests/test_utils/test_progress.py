"""The one progress helper: a bar on a terminal, timed lines elsewhere
(slurm, nohup, ``2>log``), nothing with --quiet."""
import argparse
import io
import sys
import time

import pytest

from mmsoco.utils import progress as P
from mmsoco.utils.progress import (add_quiet_argument, enabled_by,
                                   format_duration, progress_bar, track)


def _stderr(monkeypatch, isatty):
    err = io.StringIO()
    err.isatty = lambda: isatty
    monkeypatch.setattr(sys, 'stderr', err)
    return err


def _run(monkeypatch, enabled, isatty):
    err = _stderr(monkeypatch, isatty)
    assert list(track(range(5), desc='job', enabled=enabled)) == list(range(5))
    with progress_bar(total=2, desc='bar', enabled=enabled) as bar:
        bar.update(2)
    return err.getvalue()


def test_bar_on_a_terminal_silent_with_quiet_and_for_short_jobs(monkeypatch):
    # a job shorter than the interval (30 s) writes nothing off a terminal
    assert _run(monkeypatch, None, isatty=False) == ''
    shown = _run(monkeypatch, None, isatty=True)
    assert 'job' in shown and '5/5' in shown and '2/2' in shown
    assert _run(monkeypatch, False, isatty=True) == ''
    assert '5/5' in _run(monkeypatch, True, isatty=False)


class _Clock:
    """A fake ``time.monotonic``: ``tick(s)`` moves it on."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def tick(self, seconds):
        self.now += seconds


def test_off_a_terminal_a_line_every_interval_with_rate_and_eta(monkeypatch):
    err = _stderr(monkeypatch, isatty=False)
    clock = _Clock()
    monkeypatch.setattr(time, 'monotonic', clock)
    with progress_bar(
            total=100, desc='shard 0/1', unit='img', interval=30) as bar:
        for _ in range(10):  # 10 images in 20 s: under the interval
            clock.tick(2)
            bar.update(1)
        assert err.getvalue() == ''
        for _ in range(5):  # 15 images in 30 s: 0.5 img/s
            clock.tick(2)
            bar.update(1)
    lines = err.getvalue().splitlines()
    # 15 of 100 done at 0.5 img/s: 85 left take 170 s
    assert lines[0] == 'shard 0/1: 15/100 img (15.0%), 0.5 img/s, ETA 0:02:50'
    assert lines[1] == ('shard 0/1: 15/100 img (15.0%), 0.5 img/s, ETA '
                        '0:02:50; done in 0:00:30')
    assert len(lines) == 2


def test_lines_through_a_logger_whatever_the_terminal(monkeypatch):
    err = _stderr(monkeypatch, isatty=True)
    got = []
    assert list(
        track(
            range(3),
            desc='precise BN',
            unit='batch',
            interval=0,
            log=got.append)) == [0, 1, 2]
    assert err.getvalue() == ''  # no tqdm bar: the lines went to the log
    assert got[0].startswith('precise BN: 1/3 batch (33.3%)')
    assert got[-1].startswith('precise BN: 3/3 batch (100.0%)')
    assert got[-1].endswith('done in 0:00:00')


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv('MMSOCO_PROGRESS_INTERVAL', '0')
    err = _stderr(monkeypatch, isatty=False)
    list(track(range(2), desc='recall', unit='img'))
    assert err.getvalue().splitlines()[0].startswith('recall: 1/2 img')
    monkeypatch.setenv('MMSOCO_PROGRESS_INTERVAL', 'soon')
    with pytest.raises(ValueError, match='MMSOCO_PROGRESS_INTERVAL'):
        list(track(range(2)))


def test_unknown_total_and_postfix(monkeypatch):
    err = _stderr(monkeypatch, isatty=False)
    with progress_bar(
            desc='converting a.pth', unit='stage', interval=0) as bar:
        bar.set_postfix_str('read')
        bar.update(1)
    assert err.getvalue().splitlines()[0].startswith(
        'converting a.pth: 1 stage')
    assert '[read]' in err.getvalue()


def test_format_duration():
    assert format_duration(0) == '0:00:00'
    assert format_duration(3725) == '1:02:05'
    assert format_duration(90061) == '1d 1:01:01'


def test_quiet_flag_and_its_old_spelling():
    parser = argparse.ArgumentParser()
    add_quiet_argument(parser)
    assert enabled_by(parser.parse_args([])) is None
    assert enabled_by(parser.parse_args(['--quiet'])) is False
    assert enabled_by(parser.parse_args(['--no-progress'])) is False


def test_readme_states_the_interval_and_its_variable():
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    with open(osp.join(repo, 'README.md')) as f:
        text = ' '.join(f.read().split())
    assert f'a line every {P.DEFAULT_INTERVAL_S:g} s with the count' in text
    assert f'`{P.INTERVAL_ENV}=SECONDS` sets the interval' in text


def test_the_documented_example_line_is_what_is_written():
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    line = P.format_progress('shard 0/1', 5000, 1281167, 'img', 14.2)
    for path in ('README.md', 'mmsoco/utils/progress.py'):
        with open(osp.join(repo, path)) as f:
            assert line in ' '.join(f.read().split()), path

"""The one progress helper: shown on a terminal or when asked, silent with
--quiet or when stderr is not a terminal."""
import argparse
import io
import sys

from mmsoco.utils.progress import (add_quiet_argument, enabled_by,
                                   progress_bar, track)


def _run(monkeypatch, enabled, isatty):
    err = io.StringIO()
    err.isatty = lambda: isatty
    monkeypatch.setattr(sys, 'stderr', err)
    assert list(track(range(5), desc='job', enabled=enabled)) == list(range(5))
    with progress_bar(total=2, desc='bar', enabled=enabled) as bar:
        bar.update(2)
    return err.getvalue()


def test_quiet_off_a_terminal_and_shown_on_one(monkeypatch):
    assert _run(monkeypatch, None, isatty=False) == ''
    shown = _run(monkeypatch, None, isatty=True)
    assert 'job' in shown and '5/5' in shown and '2/2' in shown
    assert _run(monkeypatch, False, isatty=True) == ''
    assert '5/5' in _run(monkeypatch, True, isatty=False)


def test_quiet_flag_and_its_old_spelling():
    parser = argparse.ArgumentParser()
    add_quiet_argument(parser)
    assert enabled_by(parser.parse_args([])) is None
    assert enabled_by(parser.parse_args(['--quiet'])) is False
    assert enabled_by(parser.parse_args(['--no-progress'])) is False

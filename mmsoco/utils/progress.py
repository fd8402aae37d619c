"""The one progress display of mmsoco's long jobs.

Conversions of large checkpoints, demo data generation, proposal generation
(and its merge, import and export), recall evaluation, mini-COCO splits, view
browsing, the dataset's image check and precise BN all show progress through
:func:`progress_bar` / :func:`track`, in one of three ways:

* on a terminal (stderr is a tty): a tqdm bar on stderr;
* elsewhere (slurm, ``nohup``, ``2>log``): a plain line every ``interval``
  seconds with the count, the rate and the time left, e.g.
  ``shard 0/1: 5000/1281167 img (0.4%), 14.2 img/s, ETA 1d 0:57:51``, and a
  closing line with the total time once any line was written (a job shorter
  than the interval writes nothing);
* with ``log=`` (jobs inside a training run): the same lines through that
  function (e.g. mmengine's logger), terminal or not, so they reach the log
  file.

``interval`` defaults to :data:`DEFAULT_INTERVAL_S` (30 s), or the
``MMSOCO_PROGRESS_INTERVAL`` environment variable (seconds). ``enabled=False``
(the tools' ``--quiet``) shows nothing; ``enabled=True`` forces the tqdm bar.
"""
import os
import sys
import time
from typing import Callable, Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')

__all__ = [
    'DEFAULT_INTERVAL_S', 'progress_bar', 'track', 'add_quiet_argument',
    'enabled_by', 'format_progress', 'format_duration'
]

#: Seconds between two progress lines when stderr is not a terminal.
DEFAULT_INTERVAL_S = 30.0
INTERVAL_ENV = 'MMSOCO_PROGRESS_INTERVAL'


def default_interval() -> float:
    """Seconds between progress lines: ``MMSOCO_PROGRESS_INTERVAL`` or 30."""
    text = os.environ.get(INTERVAL_ENV)
    if not text:
        return DEFAULT_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f'{INTERVAL_ENV}={text!r}: expected seconds, e.g. '
                         f'{INTERVAL_ENV}=60') from None
    if value < 0:
        raise ValueError(f'{INTERVAL_ENV}={text!r} must be >= 0')
    return value


def format_duration(seconds: float) -> str:
    """``3725 -> '1:02:05'``, ``90061 -> '1d 1:01:01'`` (whole seconds)."""
    seconds = int(round(max(seconds, 0)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f'{hours}:{minutes:02d}:{secs:02d}'
    return f'{days}d {clock}' if days else clock


def format_progress(desc: str, done: int, total: Optional[int], unit: str,
                    rate: Optional[float]) -> str:
    """One progress line: count (and share of ``total``), rate, ETA."""
    text = f'{desc}: ' if desc else ''
    if total:
        text += f'{done}/{total} {unit} ({100.0 * done / total:.1f}%)'
    else:
        text += f'{done} {unit}'
    if rate is not None and rate > 0:
        text += f', {rate:.3g} {unit}/s'
        if total and done < total:
            text += f', ETA {format_duration((total - done) / rate)}'
    return text


class _LogLines:
    """tqdm's interface (``update``, ``set_postfix_str``, context manager)
    written as a line every ``interval`` seconds through ``write``."""

    def __init__(self, total: Optional[int], desc: str, unit: str,
                 initial: int, interval: float, write: Callable[[str],
                                                                None]) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.initial = initial
        self.interval = interval
        self.write = write
        self.clock = time.monotonic
        self.postfix = ''
        self.start = self.clock()
        self.last_line = self.start
        self.lines = 0

    def _rate(self, now: float) -> Optional[float]:
        elapsed = now - self.start
        return (self.n - self.initial) / elapsed if elapsed > 0 else None

    def _line(self, now: float) -> str:
        text = format_progress(self.desc, self.n, self.total, self.unit,
                               self._rate(now))
        return f'{text} [{self.postfix}]' if self.postfix else text

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last_line >= self.interval:
            self.write(self._line(now))
            self.last_line = now
            self.lines += 1

    def set_postfix_str(self, text: str = '', refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        if self.lines:  # a job shorter than the interval stays silent
            now = self.clock()
            self.write(f'{self._line(now)}; done in '
                       f'{format_duration(now - self.start)}')
            self.lines = 0

    def __enter__(self) -> '_LogLines':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _print_to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress_bar(total: Optional[int] = None,
                 desc: str = '',
                 unit: str = 'it',
                 initial: int = 0,
                 enabled: Optional[bool] = None,
                 interval: Optional[float] = None,
                 log: Optional[Callable[[str], None]] = None):
    """A progress display with ``update(n)``, used as a context manager (see
    the module docstring for which one is shown)."""
    if enabled is False:
        from tqdm import tqdm
        return tqdm(total=total, disable=True)
    interval = default_interval() if interval is None else interval
    if log is not None:
        return _LogLines(total, desc, unit, initial, interval, log)
    if enabled or sys.stderr.isatty():
        from tqdm import tqdm
        return tqdm(
            total=total,
            initial=initial,
            desc=desc,
            unit=unit,
            dynamic_ncols=True,
            smoothing=0.05,
            file=sys.stderr)
    return _LogLines(total, desc, unit, initial, interval, _print_to_stderr)


def track(iterable: Iterable[T],
          desc: str = '',
          unit: str = 'it',
          total: Optional[int] = None,
          enabled: Optional[bool] = None,
          interval: Optional[float] = None,
          log: Optional[Callable[[str], None]] = None) -> Iterator[T]:
    """Iterate ``iterable`` with a progress display (see
    :func:`progress_bar`)."""
    if total is None and hasattr(iterable, '__len__'):
        total = len(iterable)
    with progress_bar(
            total=total,
            desc=desc,
            unit=unit,
            enabled=enabled,
            interval=interval,
            log=log) as bar:
        for item in iterable:
            yield item
            bar.update(1)


def add_quiet_argument(parser) -> None:
    """The tools' ``--quiet`` flag (see :func:`enabled_by`); ``--no-progress``
    is its older spelling."""
    parser.add_argument(
        '--quiet',
        '--no-progress',
        action='store_true',
        help='no progress display (a bar on a terminal; elsewhere a line '
        f'every {DEFAULT_INTERVAL_S:g} s, or ${INTERVAL_ENV} seconds)')


def enabled_by(args) -> Optional[bool]:
    """``enabled`` for :func:`progress_bar` from a tool's parsed arguments:
    off with ``--quiet``, else a bar on a terminal and lines elsewhere."""
    return False if getattr(args, 'quiet', False) else None

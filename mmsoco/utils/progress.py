"""The one progress bar of mmsoco's long jobs (tqdm, on stderr).

Conversions of large checkpoints, demo data generation, proposal generation,
recall evaluation, mini-COCO splits and the transfer study all show progress
through :func:`progress_bar` / :func:`track`. ``enabled=None`` (the default)
shows the bar only when stderr is a terminal, so logs and CI output stay
clean; tools pass ``enabled=False`` for ``--quiet``.
"""
import sys
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')

__all__ = ['progress_bar', 'track', 'add_quiet_argument', 'enabled_by']


def _shown(enabled: Optional[bool]) -> bool:
    if enabled is None:
        return sys.stderr.isatty()
    return bool(enabled)


def progress_bar(total: Optional[int] = None,
                 desc: str = '',
                 unit: str = 'it',
                 initial: int = 0,
                 enabled: Optional[bool] = None):
    """A tqdm bar (a context manager with ``update(n)``); silent when not
    :func:`shown <_shown>`."""
    from tqdm import tqdm
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        disable=not _shown(enabled),
        dynamic_ncols=True,
        smoothing=0.05,
        file=sys.stderr)


def track(iterable: Iterable[T],
          desc: str = '',
          unit: str = 'it',
          total: Optional[int] = None,
          enabled: Optional[bool] = None) -> Iterator[T]:
    """Iterate ``iterable`` with a progress bar (see :func:`progress_bar`)."""
    if total is None and hasattr(iterable, '__len__'):
        total = len(iterable)
    with progress_bar(
            total=total, desc=desc, unit=unit, enabled=enabled) as bar:
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
        help='no progress bar (it is shown only on a terminal anyway)')


def enabled_by(args) -> Optional[bool]:
    """``enabled`` for :func:`progress_bar` from a tool's parsed arguments:
    off with ``--quiet``, else shown on a terminal only."""
    return False if getattr(args, 'quiet', False) else None

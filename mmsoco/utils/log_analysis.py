"""Reading mmengine's ``scalars.json`` for curves and training time.

mmengine's ``LocalVisBackend`` writes one JSON object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json``: a *train* record every
``LoggerHook`` interval (``lr``, ``loss``, its terms, ``time``,
``data_time``, ..., ``iter``, ``step`` and, for epoch-based loops,
``epoch``) and a *val* record after each evaluation (``coco/bbox_mAP``, ...,
``step``). ``iter`` is counted within the epoch for epoch-based loops,
``step`` is the global iteration of a train record (the epoch or iteration of
a val record). ``time`` is the logger's moving average over
``log_processor.window_size`` iterations.

``tools/analysis_tools/analyze_logs.py`` is the command line over these
functions, with MMDetection's sub-commands ``plot_curve`` and
``cal_train_time``.
"""
import json
import math
import os
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

from mmsoco.utils.atomic_files import atomic_open


class LogFormatError(ValueError):
    """A scalars.json cannot be read; the message names the file and line."""


def load_scalars(filename: str) -> List[dict]:
    """All records of a ``scalars.json``, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        LogFormatError: a line is not a JSON object, or there is none.
    """
    records = []
    with open(filename) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise LogFormatError(
                    f'{filename}:{number} is not JSON ({err.msg}); expected '
                    "mmengine's vis_data/scalars.json") from None
            if not isinstance(record, dict):
                raise LogFormatError(
                    f'{filename}:{number} is not a JSON object')
            records.append(record)
    if not records:
        raise LogFormatError(f'{filename} holds no records')
    return records


def is_train_record(record: dict) -> bool:
    """Train records carry ``iter``; val records do not."""
    return 'iter' in record


def _matches(record_key: str, key: str) -> bool:
    """``bbox_mAP`` finds ``coco/bbox_mAP``, as in MMDetection's tool."""
    return record_key == key or record_key.split('/')[-1] == key


def curve(records: Sequence[dict],
          key: str,
          filename: str = 'log') -> Tuple[List[int], List[float]]:
    """(steps, values) of ``key`` over the records that log it.

    Raises:
        KeyError: no record has ``key``; the message lists the keys found.
    """
    steps, values = [], []
    for record in records:
        for name, value in record.items():
            if _matches(name, key) and name not in ('step', 'epoch', 'iter'):
                steps.append(record['step'])
                values.append(float(value))
                break
    if not steps:
        found = sorted({k for r in records for k in r})
        raise KeyError(f'{filename} has no "{key}"; its keys are {found}')
    return steps, values


def train_time_stats(records: Sequence[dict],
                     include_outliers: bool = False) -> Dict[str, float]:
    """Per-epoch and overall seconds per iteration, as MMDetection reports.

    Train records are grouped by ``epoch`` (one group for iteration-based
    runs). Unless ``include_outliers``, the first record of each epoch (data
    loader start-up, first-iteration allocation) is left out.

    Returns:
        dict: ``epoch_mean`` (OrderedDict epoch -> mean time), the
        ``slowest_epoch`` / ``fastest_epoch`` and their means, ``epoch_std``
        (population std of the epoch means) and ``iter_mean`` (mean over all
        kept records).

    Raises:
        LogFormatError: no train record with ``time`` remains.
    """
    per_epoch: Dict[int, List[float]] = OrderedDict()
    for record in records:
        if is_train_record(record) and 'time' in record:
            per_epoch.setdefault(record.get('epoch', 1),
                                 []).append(float(record['time']))
    kept = OrderedDict((epoch, times if include_outliers else times[1:])
                       for epoch, times in per_epoch.items())
    kept = OrderedDict((e, t) for e, t in kept.items() if t)
    if not kept:
        raise LogFormatError(
            'no train record with "time" is left (the first of each epoch is '
            'an outlier): log more often than once per epoch, or pass '
            '--include-outliers')
    means = OrderedDict((e, sum(t) / len(t)) for e, t in kept.items())
    overall = sum(means.values()) / len(means)
    slowest = max(means, key=means.get)
    fastest = min(means, key=means.get)
    all_times = [t for times in kept.values() for t in times]
    return dict(
        epoch_mean=means,
        slowest_epoch=slowest,
        slowest_mean=means[slowest],
        fastest_epoch=fastest,
        fastest_mean=means[fastest],
        epoch_std=math.sqrt(
            sum((m - overall)**2 for m in means.values()) / len(means)),
        iter_mean=sum(all_times) / len(all_times))


def _save_figure_atomic(fig, out_file: str) -> None:
    """Render ``fig`` to ``out_file`` through the one atomic writer."""
    fmt = os.path.splitext(out_file)[1].lstrip('.').lower() or 'png'
    with atomic_open(out_file, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=100)


def plot_curves(logs: Sequence[Tuple[str, Sequence[dict]]],
                keys: Sequence[str],
                out_file: str = None,
                legend: Sequence[str] = None,
                title: str = None,
                style: str = None,
                backend: str = None):
    """One panel per key, one line per log.

    Train keys are drawn against the global iteration, val metrics (records
    without ``iter``) against their step (the epoch for epoch-based runs)
    with markers. Saves to
    ``out_file`` or, without one, shows the figure.

    Returns:
        dict: ``{(log name, key): (steps, values)}``, what was drawn.
    """
    import matplotlib
    if backend is not None:
        matplotlib.use(backend)
    elif out_file is not None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if legend is not None and len(legend) != len(logs) * len(keys):
        raise ValueError(f'--legend needs {len(logs) * len(keys)} names '
                         f'(logs x keys), got {len(legend)}')
    with plt.style.context(style or 'default'):
        fig, axes = plt.subplots(
            len(keys), 1, squeeze=False, figsize=(6, 1.8 + 1.6 * len(keys)))
        drawn = {}
        for i, (name, records) in enumerate(logs):
            for j, key in enumerate(keys):
                steps, values = curve(records, key, name)
                drawn[(name, key)] = (steps, values)
                is_val = not any(
                    is_train_record(r)
                    for r in records if any(_matches(k, key) for k in r))
                label = legend[i * len(keys) + j] if legend else \
                    (f'{name}' if len(logs) > 1 else key)
                axes[j, 0].plot(
                    steps,
                    values,
                    label=label,
                    marker='o' if is_val else None,
                    linewidth=1.0)
                axes[j, 0].set_ylabel(key)
                by_epoch = is_val and any('epoch' in r for r in records)
                axes[j, 0].set_xlabel('epoch' if by_epoch else 'iteration')
        for ax in axes[:, 0]:
            ax.grid(alpha=0.3)
            if len(logs) > 1 or legend:
                ax.legend(fontsize='small')
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        if out_file is None:
            plt.show()
        else:
            _save_figure_atomic(fig, out_file)
        plt.close(fig)
    return drawn

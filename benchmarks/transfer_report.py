"""The transfer study's report, as pure functions of its records: per init
statistics, paired differences with their sign agreement, the pretrainings'
cost and the readings (the README section's text: ``transfer_section.py``).

The reading is fixed here, before any result of the study exists (the first
record was written after this file was committed):

- primary measure: COCO bbox AP on the demo val split; secondary: mask AP;
  AP50 and the final training loss are shown, not read;
- for every pair of inits (A, B) the differences A - B per paired fine-tuning
  seed, their mean and sample std, and on how many seeds A is ahead;
- a pair is *ordered* only when every paired seed agrees on the sign (with 4
  seeds, if signs were coin flips this happens 1 time in 8 in one direction
  or the other: suggestive, not a significance test); otherwise *not
  resolved*, whatever the means say;
- the question the study was built for (does the fast batching change what
  transfers?) is answered from the pair (soco, soco_fast) by the same rule;
  *not resolved* does not mean *equal*: the report states the size of a
  difference the seeds could have shown (twice the std of the paired
  differences);
- nothing is concluded from a partial study (runs missing) or a plumbing
  check (too short to mean anything).

The warm starts (``byol_soco``, ``byol_soco_frozen``) were added later; their
reading was fixed here, by the same rule, before any of their runs existed
(this paragraph was committed before their first record):

- three questions, each one pair, bbox AP first, mask AP second:
  (1) does a warm start beat SoCo from random weights at the same budget?
  ``byol_soco - soco``; (2) does a SoCo stage beat spending its iterations on
  more BYOL? ``byol_soco - byol``; (3) trainable or frozen backbone in the
  SoCo stage? ``byol_soco - byol_soco_frozen``; shown besides, not read as
  questions: ``byol_soco_frozen - byol`` and both warm starts ``- scratch``;
- the default of the warm-start recipes (configs/soco/soco-warm_*.py) follows
  question (3): the backbone becomes frozen by default only if
  ``byol_soco_frozen`` is ahead of ``byol_soco`` on every paired seed in bbox
  AP; otherwise it stays trainable (the paper pretrains the whole detector);
- each init's cost is its pretraining wall time, both stages of a warm start
  (the shared BYOL stage counted in each), from each run's own record.
"""
import math
import statistics

from transfer_setup import (BYOL_STAGE, INITS, PRETRAININGS, WARM_INITS,
                            FinetuneRun, PretrainRun)

PRIMARY, SECONDARY = 'coco/bbox_mAP', 'coco/segm_mAP'
#: (record key, column name, scale, digits) of the per-init table.
COLUMNS = ((PRIMARY, 'bbox AP', 100, 1), ('coco/bbox_mAP_50', 'bbox AP50', 100,
                                          1), (SECONDARY, 'segm AP', 100, 1),
           ('final_train_loss', 'train loss, last 1/4', 1, 3))
#: The pairs compared, (A, B): A - B.
FIRST_PAIRS = (('soco', 'soco_fast'), ('soco', 'byol'), ('soco', 'scratch'),
               ('soco_fast', 'byol'), ('soco_fast', 'scratch'), ('byol',
                                                                 'scratch'))
PAIRS = FIRST_PAIRS + (('byol_soco', 'soco'), ('byol_soco', 'byol'),
                       ('byol_soco', 'byol_soco_frozen'),
                       ('byol_soco_frozen', 'byol'), ('byol_soco', 'scratch'),
                       ('byol_soco_frozen', 'scratch'))
#: The warm-start questions (fixed reading, module docstring): the pair and
#: what "ordered" answers.
WARM_QUESTIONS = (
    (('byol_soco', 'soco'), 'warm start vs SoCo from random weights at the '
     'same budget'),
    (('byol_soco', 'byol'), 'a SoCo stage vs more BYOL'),
    (('byol_soco', 'byol_soco_frozen'), 'trainable vs frozen backbone in the '
     'SoCo stage'),
)
#: Below these lengths the numbers mean nothing: the report says so.
REAL_MIN_PRETRAIN_EPOCHS, REAL_MIN_FINETUNE_ITERS = 10, 100


def stats(values):
    """mean, sample std (n - 1; NaN for one value), min, max, n."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum(
        (v - mean)**2 for v in values) / (n - 1)) if n > 1 else float('nan')
    return dict(mean=mean, std=std, min=min(values), max=max(values), n=n)


def finetunings_by_init(records):
    """``{init: {seed: record}}`` of the recorded fine-tunings."""
    out = {init: {} for init in INITS}
    for run, record in records.items():
        if isinstance(run, FinetuneRun) and record is not None:
            out[run.init][run.seed] = record
    return out


def summarize(by_init):
    """``{init: {key: stats}}`` over each init's recorded seeds."""
    summary = {}
    for init, rows in by_init.items():
        summary[init] = {}
        for key, *_ in COLUMNS:
            values = [
                float(r[key]) for r in rows.values() if r.get(key) is not None
            ]
            if values:
                summary[init][key] = stats(values)
    return summary


def paired_differences(by_init, a, b, key):
    """``[(seed, a - b)]`` over the seeds both inits have, by seed."""
    common = sorted(set(by_init[a]) & set(by_init[b]))
    return [(s, float(by_init[a][s][key]) - float(by_init[b][s][key]))
            for s in common]


def sign_reading(diffs):
    """'ordered' (A ahead on every seed), 'reversed' (B ahead on every
    seed) or 'not resolved', with the number of seeds A is ahead on."""
    ahead = sum(d > 0 for _, d in diffs)
    behind = sum(d < 0 for _, d in diffs)
    if diffs and ahead == len(diffs):
        return 'ordered', ahead
    if diffs and behind == len(diffs):
        return 'reversed', ahead
    return 'not resolved', ahead


def _points(value, digits=1, sign=False):
    return f'{100 * value:{"+" if sign else ""}.{digits}f}'


def _cell(s, scale, digits):
    num = (lambda v: f'{scale * v:.{digits}f}')  # noqa: E731
    if s['n'] == 1:
        return num(s['mean'])
    return (f'{num(s["mean"])} ± {num(s["std"])} '
            f'({num(s["min"])}–{num(s["max"])})')


def format_init_table(summary):
    lines = [
        '| init | runs | ' + ' | '.join(c[1] for c in COLUMNS) + ' |',
        '|---|---|' + '---|' * len(COLUMNS)
    ]
    for init in INITS:
        if not summary.get(init):
            continue
        n = max(s['n'] for s in summary[init].values())
        lines.append(f'| {init} | {n} | ' + ' | '.join(
            _cell(summary[init][k], scale, digits) if k in
            summary[init] else '-' for k, _, scale, digits in COLUMNS) + ' |')
    return '\n'.join(lines)


def format_pair_table(by_init, read=True):
    """The paired differences; the reading column only when ``read`` (a
    complete study): a partial one shows '(partial)'."""
    lines = [
        '| A − B | measure | per seed (seed: points) | mean ± std | A ahead '
        '| reading |', '|---|---|---|---|---|---|'
    ]
    for a, b in PAIRS:
        for key, name in ((PRIMARY, 'bbox AP'), (SECONDARY, 'segm AP')):
            diffs = paired_differences(by_init, a, b, key)
            if not diffs:
                continue
            s = stats([d for _, d in diffs])
            spread = ('' if s['n'] == 1 else f' ± {_points(s["std"])}')
            reading, ahead = sign_reading(diffs)
            lines.append(f'| {a} − {b} | {name} | ' +
                         ', '.join(f'{seed}: {_points(d, sign=True)}'
                                   for seed, d in diffs) +
                         f' | {_points(s["mean"], sign=True)}{spread} | '
                         f'{ahead} of {len(diffs)} | '
                         f'{reading if read else "(partial)"} |')
    return '\n'.join(lines)


def format_pretrain_table(records):
    rows = sorted(((run, rec) for run, rec in records.items()
                   if isinstance(run, PretrainRun) and rec is not None),
                  key=lambda item:
                  (PRETRAININGS.index(item[0].init), item[0].seed))
    lines = [
        '| pretraining | seed | iterations | s / iter (logged median) | '
        's / iter (wall, with start-up) | jobs × threads | load (mean) | '
        'loss first → last 1/5 |', '|---|---|---|---|---|---|---|---|'
    ]
    for run, rec in rows:
        lines.append(
            f'| {run.init} | {run.seed} | {rec["iterations"]} | '
            f'{rec["s_per_iter_logged"]:.2f} | {rec["s_per_iter_wall"]:.2f} '
            f'| {rec["jobs"]} × {rec["threads"]} | {rec["load_mean"]:.1f} | '
            f'{rec["loss_first"]:.2f} → {rec["loss_last"]:.2f} |')
    return '\n'.join(lines)


def init_costs(records):
    """``{init: {seed: (iterations, wall seconds)}}`` of every pretrained
    init whose every stage is recorded: a warm start's two stages summed."""
    costs = {}
    for run, rec in records.items():
        if not isinstance(run, PretrainRun) or run.init == BYOL_STAGE \
                or rec is None:
            continue
        stages = [rec]
        if run.first_stage is not None:
            stages.append(records.get(run.first_stage))
            if stages[-1] is None:
                continue
        costs.setdefault(run.init,
                         {})[run.seed] = (sum(r['iterations'] for r in stages),
                                          sum(r['wall_s'] for r in stages))
    return costs


def format_cost_table(records):
    """Each init's pretraining cost: iterations and wall time per seed."""
    costs = init_costs(records)
    lines = [
        '| init | stages | iterations | wall time per seed (min) | '
        'mean (min) |', '|---|---|---|---|---|'
    ]
    for init in INITS:
        if init not in costs:
            continue
        stages = (f'{BYOL_STAGE} + {init}' if init in WARM_INITS else init)
        by_seed = costs[init]
        iters = sorted({n for n, _ in by_seed.values()})
        walls = [wall / 60 for _, wall in by_seed.values()]
        lines.append(f'| {init} | {stages} | {", ".join(map(str, iters))} | ' +
                     ', '.join(
                         f'{seed}: {wall / 60:.1f}'
                         for seed, (_, wall) in sorted(by_seed.items())) +
                     f' | {statistics.fmean(walls):.1f} |')
    return '\n'.join(lines)


def warm_conclusions(by_init):
    """The pre-registered warm-start readings, as sentences."""
    lines = []
    for (a, b), question in WARM_QUESTIONS:
        for key, name in ((PRIMARY, 'bbox AP'), (SECONDARY, 'segm AP')):
            diffs = paired_differences(by_init, a, b, key)
            s = stats([d for _, d in diffs])
            reading, ahead = sign_reading(diffs)
            word = {
                'ordered':
                f'{a} > {b} on every seed',
                'reversed':
                f'{b} > {a} on every seed',
                'not resolved':
                f'**not resolved** ({a} ahead on {ahead} of '
                f'{len(diffs)})'
            }[reading]
            lines.append(f'- {question} ({a} − {b}), {name}: {word}, mean '
                         f'{_points(s["mean"], 2, True)} points.')
    reading, _ = sign_reading(
        paired_differences(by_init, 'byol_soco', 'byol_soco_frozen', PRIMARY))
    frozen = reading == 'reversed'
    lines.append(
        '- Warm-start recipes\' default (rule fixed above): the backbone is ' +
        ('**frozen** (byol_soco_frozen ahead on every seed).' if frozen else
         '**trainable** (byol_soco_frozen not ahead on every seed).'))
    return lines


def conclusions(by_init):
    """The pre-registered readings of a complete study, as sentences."""
    lines = []
    for key, name in ((PRIMARY, 'bbox AP'), (SECONDARY, 'segm AP')):
        diffs = paired_differences(by_init, 'soco', 'soco_fast', key)
        s = stats([d for _, d in diffs])
        reading, ahead = sign_reading(diffs)
        if reading == 'not resolved':
            lines.append(
                f'- Reference vs fast batching, {name}: **not resolved** '
                f'(reference ahead on {ahead} of {len(diffs)} seeds, mean '
                f'{_points(s["mean"], 2, True)} points). Not a proof of '
                f'equality: a difference below about '
                f'{_points(2 * s["std"], 2)} points (twice the std of the '
                f'paired differences) would not show in this study.')
        else:
            better = 'reference' if reading == 'ordered' else 'fast'
            lines.append(
                f'- Reference vs fast batching, {name}: the **{better}** '
                f'batching is ahead on every one of the {len(diffs)} seeds '
                f'(mean reference − fast {_points(s["mean"], 2, True)} '
                f'points).')
    for a, b in FIRST_PAIRS[1:]:
        reading, ahead = sign_reading(
            paired_differences(by_init, a, b, PRIMARY))
        n = len(paired_differences(by_init, a, b, PRIMARY))
        word = {
            'ordered': f'{a} > {b} on every seed',
            'reversed': f'{b} > {a} on every seed',
            'not resolved': f'not resolved ({a} ahead on {ahead} of {n})'
        }[reading]
        lines.append(f'- {a} vs {b}, bbox AP: {word}.')
    return lines


def median_ratio(records, init, baseline='byol', key='s_per_iter_logged'):
    """Median over seeds of ``init``'s time per iteration over the
    baseline's at the same seed (None when no seed has both)."""
    by_seed = {}
    for run, rec in records.items():
        if isinstance(run, PretrainRun) and rec is not None:
            by_seed.setdefault(run.seed, {})[run.init] = rec[key]
    ratios = [
        times[init] / times[baseline] for times in by_seed.values()
        if init in times and baseline in times
    ]
    return statistics.median(ratios) if ratios else None

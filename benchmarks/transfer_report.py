"""The transfer study's report, as pure functions of its records: per init
statistics, paired differences with their sign agreement, the pretrainings'
cost, and the README section's text (written by ``readme_sections``).

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
"""
import math
import statistics

from transfer_setup import INITS, FinetuneRun, PretrainRun

#: The study's section of benchmarks/README.md (readme_sections.markers).
SECTION = 'transfer_demo'
PRIMARY, SECONDARY = 'coco/bbox_mAP', 'coco/segm_mAP'
#: (record key, column name, scale, digits) of the per-init table.
COLUMNS = ((PRIMARY, 'bbox AP', 100, 1), ('coco/bbox_mAP_50', 'bbox AP50', 100,
                                          1), (SECONDARY, 'segm AP', 100, 1),
           ('final_train_loss', 'train loss, last 1/4', 1, 3))
#: The pairs compared, (A, B): A - B.
PAIRS = (('soco', 'soco_fast'), ('soco', 'byol'), ('soco', 'scratch'),
         ('soco_fast', 'byol'), ('soco_fast', 'scratch'), ('byol', 'scratch'))
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
                  key=lambda item: (INITS.index(item[0].init), item[0].seed))
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
    for a, b in PAIRS[1:]:
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


def format_section(records, study_record, command, tag='', note=None):
    """The README section of the study from its ``records`` (``{run:
    record or None}`` over the plan) and ``study.json``."""
    params, facts = study_record['params'], study_record['facts']
    finetunes = [r for r in records if isinstance(r, FinetuneRun)]
    pretrains = [r for r in records if isinstance(r, PretrainRun)]
    done_ft = sum(records[r] is not None for r in finetunes)
    done_pt = sum(records[r] is not None for r in pretrains)
    complete = done_ft == len(finetunes)
    plumbing = (
        params['pretrain_epochs'] < REAL_MIN_PRETRAIN_EPOCHS
        or params['finetune_iters'] < REAL_MIN_FINETUNE_ITERS)
    by_init = finetunings_by_init(records)
    lines = [
        '## Transfer on the demo data' + (f' ({tag})' if tag else '') +
        ': reference vs fast batching vs BYOL vs scratch '
        '(`benchmarks/transfer_demo.py`)', '', f'Command: `{command}`', '',
        f'- Data: `make_demo_dataset(num_images={params["num_images"]}, '
        f'seed=0)`: {facts["num_train"]} train / {facts["num_val"]} val '
        'images.',
        f'- Pretraining on the {facts["num_train"]} train images without '
        f'labels, the same budget for all: {params["pretrain_epochs"]} '
        f'epochs at batch {facts["batch_size"]} '
        f'({facts["pretrain_iters"]} iterations), views 112/112/64 and '
        'SoCo\'s box pipeline, LARS; once per pretraining seed ' +
        ' and '.join(map(str, params['pretrain_seeds'])) +
        '. `soco`: soco_r18fpn_demo.py (reference batching), `soco_fast`: '
        'soco_r18fpn_demo_fast.py, `byol`: byol_r18_demo.py.',
        '- Transferred: SoCo backbone + FPN + box-head trunk, BYOL the '
        'backbone (all it has), scratch nothing.',
        f'- Fine-tuning: Mask R-CNN R18-FPN, {params["finetune_iters"]} '
        'iterations at batch 2 (lr 0.0025, warm-up, x0.1 at 3/4), '
        f'{params["img_scale"]} px, on ' +
        (f'{params["num_labeled"]} labeled train images (split seed '
         f'{params["split_seed"]}; '
         if params['num_labeled'] else 'all the labeled train images (') +
        f'{facts["num_labeled_objects"]} objects); COCO AP on the '
        f'{facts["num_val"]} val '
        'images. Fine-tuning seed s starts from pretraining seed '
        'pretrain_seeds[s mod ' + str(len(params['pretrain_seeds'])) +
        ']; the four inits of a seed are paired.',
        '- The reading was fixed before the first result (docstring of '
        '`benchmarks/transfer_report.py`): bbox AP first, mask AP second; '
        'a pair of inits is ordered only when every paired seed agrees on '
        'the sign, else not resolved.',
        '- What it can show: whether, on this data and budget, one init '
        'transfers better than another on every paired seed, and the size '
        'of a difference the seeds could resolve. What it cannot: that two '
        'inits are equal, or anything about ImageNet-scale pretraining and '
        'COCO (tiny images, 300 pretraining iterations, 60 labeled images; '
        'the paper\'s claim is at 400 epochs of ImageNet).', ''
    ]
    if plumbing:
        lines += [
            '**Plumbing check only**: at this length the numbers mean '
            'nothing.', ''
        ]
    if not complete:
        lines += [
            f'**Partial study: {done_ft} of {len(finetunes)} fine-tunings '
            f'and {done_pt} of {len(pretrains)} pretrainings recorded.** No '
            'conclusion is drawn until every run is in; the command resumes '
            'it.', ''
        ]
    lines += [
        'Per init, mean ± sample std (min–max) over its fine-tunings, AP in '
        'points:', '',
        format_init_table(summarize(by_init)), '',
        'Paired differences (points):', '',
        format_pair_table(by_init, complete and not plumbing), '',
        'Pretrainings (each run\'s own conditions; times under two jobs '
        'share the cores with the other job):', '',
        format_pretrain_table(records), ''
    ]
    ratios = {i: median_ratio(records, i) for i in ('soco', 'soco_fast')}
    if all(r is not None for r in ratios.values()):
        lines += [
            'Logged time per iteration against BYOL at the same seed '
            f'(median over seeds): soco {ratios["soco"]:.2f}x, soco_fast '
            f'{ratios["soco_fast"]:.2f}x.', ''
        ]
    no_det = [
        f'{r.name}' for r in finetunes
        if records[r] and records[r].get('no_detections')
    ]
    if no_det:
        lines += [
            'Runs without any detection on the val split (AP 0): ' +
            ', '.join(no_det) + '.', ''
        ]
    if complete and not plumbing:
        lines += ['Readings (the fixed rule):', ''] + conclusions(by_init)
        lines.append('')
    if note:
        lines += [note.strip(), '']
    return '\n'.join(lines).rstrip('\n')


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

"""The transfer study's README section (written by ``readme_sections``):
what was run, the tables and readings of ``transfer_report.py``, and a note
written after the results."""
from transfer_report import (REAL_MIN_FINETUNE_ITERS, REAL_MIN_PRETRAIN_EPOCHS,
                             conclusions, finetunings_by_init,
                             format_cost_table, format_init_table,
                             format_pair_table, format_pretrain_table,
                             median_ratio, summarize, warm_conclusions)
from transfer_setup import BYOL_STAGE, FinetuneRun, PretrainRun

#: The study's section of benchmarks/README.md (readme_sections.markers).
SECTION = 'transfer_demo'


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
    warm = 'warm_byol_epochs' in params
    lines = [
        '## Transfer on the demo data' + (f' ({tag})' if tag else '') +
        ': reference vs fast batching vs BYOL vs scratch' +
        (' vs warm starts' if warm else '') +
        ' (`benchmarks/transfer_demo.py`)', '', f'Command: `{command}`', '',
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
        'soco_r18fpn_demo_fast.py, `byol`: byol_r18_demo.py.'
    ] + (warm_description(params, facts) if warm else []) + [
        '- Transferred: SoCo (the warm starts included) backbone + FPN + '
        'box-head trunk, BYOL the backbone (all it has), scratch nothing.',
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
        ']; the inits of a seed are paired.',
        '- The reading was fixed before the first result (docstring of '
        '`benchmarks/transfer_report.py`): bbox AP first, mask AP second; '
        'a pair of inits is ordered only when every paired seed agrees on '
        'the sign, else not resolved.',
        '- What it can show: whether, on this data and budget, one init '
        'transfers better than another on every paired seed, and the size '
        'of a difference the seeds could resolve. What it cannot: that two '
        'inits are equal, or anything about ImageNet-scale pretraining and '
        'COCO (tiny images, 300 pretraining iterations, 60 labeled images; '
        'the paper\'s claim is at 400 epochs of ImageNet), nor what a SoCo '
        'stage adds to a backbone pretrained for hundreds of ImageNet '
        'epochs (here the BYOL stage is itself a few hundred iterations).', ''
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
        format_pretrain_table(records), '',
        'Pretraining cost per init (a warm start: both stages, the shared '
        'BYOL stage counted in each; wall time under each run\'s own '
        'conditions, above):', '',
        format_cost_table(records), ''
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
        if warm:
            lines += warm_conclusions(by_init)
        lines.append('')
    if note:
        lines += [note.strip(), '']
    return '\n'.join(lines).rstrip('\n')


def warm_description(params, facts):
    """The bullet describing the warm starts' two stages."""
    first = params['warm_byol_epochs']
    rest = params['pretrain_epochs'] - first
    per_epoch = facts.get('iters_per_epoch',
                          facts['pretrain_iters'] // params['pretrain_epochs'])
    return [
        f'- Warm starts: `byol_soco`: byol_r18_demo.py for {first} epochs '
        f'({first * per_epoch} iterations, run `{BYOL_STAGE}`), then '
        f'soco_r18fpn_demo.py for {rest} epochs ({rest * per_epoch} '
        'iterations) from that BYOL\'s online backbone '
        '(`PretrainedBackbone`, layout `mmsoco_online`; FPN, head, projector '
        'and predictor from the recipe\'s initialisation; each stage its '
        'own warm-up and cosine); `byol_soco_frozen`: the same with the '
        'backbone frozen in the SoCo stage (`frozen_stages=4`). Both start '
        'from their seed\'s one BYOL stage; the two stages together are the '
        'iterations of `soco` at the same batch, data and optimiser '
        '(checked by the script).'
    ]

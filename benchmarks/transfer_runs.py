"""What a finished training of the transfer study left behind, read back:
its logged rows (mmengine's ``vis_data/scalars.json``), COCO metrics, final
training loss, pretraining loss curve, and the digest of converted weights;
plus the study's JSON records (atomic, the user's umask)."""
import glob
import hashlib
import json
import os.path as osp
import statistics

#: mmdet's CocoMetric logs this (and returns no metrics) when the detector
#: kept no box above its score threshold on the whole val split.
EMPTY_RESULTS_MESSAGE = 'The testing results of the whole dataset is empty'
#: A second, evaluation-free measure of transfer: the mean logged training
#: loss over the last quarter of a fine-tuning (after the lr step).
FINAL_LOSS_FRACTION = 0.25
#: The COCO metrics a fine-tuning record keeps (all that mmdet logs).
COCO_PREFIX = 'coco/'


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, obj):
    from mmsoco.utils.atomic_files import atomic_write_text
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + '\n')


def logged_rows(run_dir):
    """Every row mmengine logged for the run in ``run_dir`` (its
    ``*/vis_data/scalars.json``, one per launch of the run, in order)."""
    for path in sorted(
            glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                yield json.loads(line)


def no_detection_metrics(keys):
    """The metrics of a run that detected nothing: AP 0 by definition (no
    true positives) for each of ``keys``, flagged for the report."""
    return dict({key: 0.0 for key in keys}, no_detections=True)


def last_metrics(run_dir,
                 zero_keys=('coco/bbox_mAP', 'coco/bbox_mAP_50',
                            'coco/segm_mAP')):
    """The COCO metrics of the last logged line holding them;
    :func:`no_detection_metrics` of ``zero_keys`` when the evaluation ran and
    found no detection at all (mmdet's message in the run's log), else an
    error naming the run."""
    found = None
    for row in logged_rows(run_dir):
        if 'coco/bbox_mAP' in row:
            found = row
    if found is not None:
        return {k: v for k, v in found.items() if k.startswith(COCO_PREFIX)}
    logs = sorted(glob.glob(osp.join(run_dir, '*', '*.log')))
    if logs and EMPTY_RESULTS_MESSAGE in open(logs[-1]).read():
        print(
            f'{run_dir}: no detection on the val split, AP counted as 0',
            flush=True)
        return no_detection_metrics(zero_keys)
    raise RuntimeError(f'no COCO metrics logged under {run_dir}')


def final_train_loss(run_dir, iters, fraction=FINAL_LOSS_FRACTION):
    """Mean logged training ``loss`` of the run in ``run_dir`` over its last
    ``fraction`` of ``iters`` iterations (None when nothing was logged
    there, e.g. a run shorter than the logging interval)."""
    first = iters - fraction * iters
    values = [
        float(row['loss']) for row in logged_rows(run_dir)
        if 'loss' in row and row.get('step', 0) > first
    ]
    return sum(values) / len(values) if values else None


def run_metrics(run_dir, iters):
    """A fine-tuning's record body: its COCO metrics and final loss."""
    return dict(
        last_metrics(run_dir),
        final_train_loss=final_train_loss(run_dir, iters))


def pretrain_log_summary(rows):
    """A pretraining's logged rows -> its loss at the start and the end (mean
    of the first / last fifth of the logged rows) and its median logged
    seconds per iteration (mmengine's ``time``: data + step; the first
    logged window, with start-up, left out)."""
    losses = [float(r['loss']) for r in rows if 'loss' in r]
    times = [float(r['time']) for r in rows if 'time' in r and 'loss' in r]
    fifth = max(1, len(losses) // 5)
    return dict(
        loss_first=statistics.fmean(losses[:fifth]),
        loss_last=statistics.fmean(losses[-fifth:]),
        s_per_iter_logged=statistics.median(times[1:] or times))


def state_dict_digest(state_dict):
    """sha256 over the sorted keys, dtypes, shapes and bytes of a state
    dict (a checkpoint file's own bytes hold a timestamp)."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f'{key}|{tensor.dtype}|{tuple(tensor.shape)}'.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()

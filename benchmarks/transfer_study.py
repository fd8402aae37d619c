"""One transfer study's state: its records (one JSON file per finished run,
never run again), what is left to run, and how each run is launched and
recorded; a pretraining's checkpoint converted for the detector (a BYOL
stage's kept for the SoCo stage after it) and its digest checked against
the record when it is recomputed."""
import os
import os.path as osp

import transfer_runs as runs
import transfer_setup as setup
from transfer_jobs import Launched
from transfer_setup import FinetuneRun, PretrainRun

#: Inits whose pretraining is a SoCo model (backbone, FPN, box-head trunk).
SOCO_INITS = ('soco', 'soco_fast') + tuple(setup.WARM_INITS)


class Study:
    """The state of one study: its records, work dir and configs."""

    def __init__(self, args, data_root, work_dir, record_dir):
        self.args, self.data_root = args, data_root
        self.work_dir, self.record_dir = work_dir, record_dir
        self.plan = setup.study_plan(args.pretrain_seeds, args.seeds)
        self.threads = max(1, (os.cpu_count() or 1) // args.jobs)
        self.iters_per_epoch = None  # from the data: set by main()

    # records ---------------------------------------------------------------
    def record_file(self, run):
        return osp.join(self.record_dir, run.name + '.json')

    def record(self, run):
        path = self.record_file(run)
        return runs.read_json(path) if osp.isfile(path) else None

    def converted(self, run: PretrainRun):
        """What the pretraining hands on (setup.product_file)."""
        return setup.product_file(self.work_dir, run)

    def epochs(self, run: PretrainRun):
        args = self.args
        return setup.pretrain_epochs_of(run.init, args.pretrain_epochs,
                                        args.warm_byol_epochs)

    # what is left ----------------------------------------------------------
    def todo(self):
        finetunes = [
            r for r in self.plan
            if isinstance(r, FinetuneRun) and self.record(r) is None
        ]
        needed = {r.pretraining for r in finetunes} - {None}
        pretrains = {r for r in needed if not osp.isfile(self.converted(r))}
        # a warm start's SoCo stage to run needs its BYOL stage's checkpoint
        pretrains |= {
            r.first_stage
            for r in pretrains if r.first_stage is not None
            and not osp.isfile(self.converted(r.first_stage))
        }
        return [r for r in self.plan if r in pretrains or r in finetunes]

    def ready(self, run):
        if isinstance(run, FinetuneRun):
            before = run.pretraining
        else:
            before = run.first_stage
        return before is None or osp.isfile(self.converted(before))

    # launching -------------------------------------------------------------
    def launch(self, run, pretrain_cfgs, split):
        from mmengine.config import Config

        from mmsoco.utils.atomic_files import atomic_write_text
        if isinstance(run, PretrainRun):
            cfg = pretrain_cfgs[run]
        else:
            load_from = None if run.pretraining is None else self.converted(
                run.pretraining)
            cfg = setup.finetune_cfg_changes(
                Config.fromfile(setup.DET_CONFIG), self.data_root, split,
                self.args.finetune_iters, self.args.img_scale, run.seed,
                load_from)
        config = osp.join(self.work_dir, run.name + '.py')
        atomic_write_text(config, cfg.pretty_text)  # what Config.dump writes
        return Launched(run, config, osp.join(self.work_dir, run.name),
                        self.threads, self.args.jobs)

    def finish(self, job):
        if isinstance(job.run, PretrainRun):
            self.finish_pretraining(job.run, job.run_dir, job.timing())
        else:
            self.finish_finetuning(job.run, job.run_dir, job.timing())
        print(
            f'done {job.run.name} in {job.timing()["wall_s"]:.0f} s',
            flush=True)

    def finish_pretraining(self, run, run_dir, timing):
        epochs = self.epochs(run)
        digest = convert(run, osp.join(run_dir, f'epoch_{epochs}.pth'),
                         self.converted(run))
        rows = list(runs.logged_rows(run_dir))
        iters = epochs * self.iters_per_epoch
        new = dict(
            init=run.init,
            seed=run.seed,
            converted_sha256=digest,
            iterations=iters,
            **timing,
            **runs.pretrain_log_summary(rows))
        new['s_per_iter_wall'] = timing['wall_s'] / iters
        old = self.record(run)
        if old is None:
            runs.write_json(self.record_file(run), new)
        elif old['converted_sha256'] != digest:
            os.replace(self.converted(run), self.converted(run) + '.differs')
            raise RuntimeError(
                f'{run.name} recomputed to other weights ({digest[:12]} vs '
                f'the recorded {old["converted_sha256"][:12]}): the '
                f'fine-tunings still to run would start from another '
                f'pretraining than the recorded ones. Same code, data and '
                f'--jobs? Otherwise start a new --record-dir.')
        else:  # the same weights again: keep the first timing, note this one
            old.setdefault('recomputed', []).append(timing)
            runs.write_json(self.record_file(run), old)

    def finish_finetuning(self, run, run_dir, timing):
        init_digest = None
        if run.pretraining is not None:
            init_digest = self.record(run.pretraining)['converted_sha256']
        runs.write_json(
            self.record_file(run),
            dict(
                runs.run_metrics(run_dir, self.args.finetune_iters),
                init=run.init,
                seed=run.seed,
                pretrain_seed=run.pretrain_seed,
                init_sha256=init_digest,
                **timing))


def convert(run, checkpoint, dst):
    """A pretraining checkpoint -> detector weights at ``dst`` (a BYOL
    stage: its state dict, for the SoCo stage's warm start); returns the
    digest of the written state dict."""
    from mmsoco.converters import (check_against_destination, convert_to_mmdet,
                                   detector_destination_shapes,
                                   extract_backbone, load_state_dict,
                                   save_checkpoint_atomic)
    if run.init == setup.BYOL_STAGE:
        save_checkpoint_atomic(
            dict(
                meta=dict(source=checkpoint),
                state_dict=load_state_dict(checkpoint)), dst)
        print(f'{run.name}: BYOL state dict for the SoCo stage, wrote {dst}')
    elif run.init in SOCO_INITS:
        print(convert_to_mmdet(checkpoint, dst, config=setup.DET_CONFIG))
    else:
        backbone, counts = extract_backbone(load_state_dict(checkpoint))
        converted = {'backbone.' + k: v for k, v in backbone.items()}
        destination = {
            k: v
            for k, v in detector_destination_shapes(setup.DET_CONFIG).items()
            if k.startswith('backbone.')
        }
        check_against_destination(converted, destination)
        save_checkpoint_atomic(
            dict(
                meta=dict(
                    source=checkpoint, converter='mmsoco extract_backbone'),
                state_dict=converted), dst)
        print(f'{run.name}: backbone {dict(counts)}, wrote {dst}')
    return runs.state_dict_digest(load_state_dict(dst))

"""benchmarks/transfer_jobs.py: the trainings run ``--jobs`` at a time, in
dependency order, and a failure named (fake jobs, and one real subprocess of
tools/train.py that fails)."""
import pytest
from transfer_modules import load

tj = load('transfer_jobs')
ts = load('transfer_setup')
P, F = ts.PretrainRun, ts.FinetuneRun


class FakeJob:
    """A 'training' that ends after ``polls`` polls with ``code``."""

    def __init__(self, run, log, polls=2, code=0):
        self.run, self.output, self.log = run, f'{run.name}.out', log
        self.polls, self.code = polls, code
        log.append(('start', run.name))

    def finished(self):
        self.polls -= 1
        return None if self.polls > 0 else self.code


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    monkeypatch.setattr(tj, 'POLL_S', 0)


def test_scheduler_respects_dependencies_and_the_job_limit():
    log, done = [], set()
    runs = [P('soco', 0), F('soco', 0, 0), F('scratch', 0, None)]

    def ready(run):
        return run.pretraining is None if isinstance(run, F) else True

    def launch(run):
        return FakeJob(run, log, polls=3 if isinstance(run, P) else 1)

    def finish(job):
        log.append(('finish', job.run.name))
        done.add(job.run)

    tj.run_all(
        runs,
        lambda r: ready(r) or P('soco', 0) in done,
        launch,
        finish,
        max_jobs=2)
    # two at a time: the pretraining and the scratch run (ready at once);
    # the SoCo fine-tuning only after its pretraining finished
    assert log == [('start', 'pretrain_soco_p0'),
                   ('start', 'finetune_scratch_s0'),
                   ('finish', 'finetune_scratch_s0'),
                   ('finish', 'pretrain_soco_p0'),
                   ('start', 'finetune_soco_p0_s0'),
                   ('finish', 'finetune_soco_p0_s0')]


def test_a_failed_run_stops_new_starts_and_is_named():
    log = []
    runs = [P('soco', 0), P('byol', 0), P('soco_fast', 0)]

    def launch(run):
        return FakeJob(
            run,
            log,
            polls=1 if run.init == 'soco' else 3,
            code=1 if run.init == 'soco' else 0)

    finished = []
    with pytest.raises(RuntimeError, match=r'pretrain_soco_p0 \(exit 1'):
        tj.run_all(
            runs,
            lambda r: True,
            launch,
            lambda job: finished.append(job.run),
            max_jobs=2)
    # byol was running: it ends and is recorded; soco_fast never starts
    assert finished == [P('byol', 0)]
    assert ('start', 'pretrain_soco_fast_p0') not in log


def test_a_real_launch_that_fails_is_reported_with_its_output(tmp_path):
    # tools/train.py in a subprocess, on a config that does not exist
    run = P('soco', 0)

    def launch(run):
        return tj.Launched(
            run,
            str(tmp_path / 'missing.py'),
            str(tmp_path / run.name),
            threads=1,
            jobs=1)

    with pytest.raises(RuntimeError, match='pretrain_soco_p0 .exit [1-9]'):
        tj.run_all([run], lambda r: True, launch, lambda job: None, 1)
    output = (tmp_path / 'pretrain_soco_p0.out').read_text()
    assert 'missing.py' in output

"""The transfer study's trainings: one ``tools/train.py`` subprocess each,
``--jobs`` of them side by side, each with its share of the cores; a failure
stops new starts and is raised once the running ones have ended."""
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

from transfer_setup import REPO

#: Seconds between polls of the running trainings (tests set 0).
POLL_S = 5


class Launched:
    """A training subprocess and what its record needs."""

    def __init__(self, run, config, run_dir, threads, jobs):
        self.run, self.run_dir, self.threads = run, run_dir, threads
        os.makedirs(run_dir, exist_ok=True)
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
            PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
        self.output = run_dir + '.out'
        cmd = [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', run_dir
        ]
        print(
            f'start {run.name} ({threads} thread(s)); output in '
            f'{self.output}',
            flush=True)
        with open(self.output, 'w') as out:
            self.process = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.start = time.perf_counter()
        self.loads = []
        self.conditions = dict(threads=threads, jobs=jobs)

    def finished(self):
        """None while running, else the exit code; samples the load."""
        self.loads.append(os.getloadavg()[0])
        return self.process.poll()

    def timing(self):
        return dict(
            self.conditions,
            wall_s=time.perf_counter() - self.start,
            load_mean=statistics.fmean(self.loads) if self.loads else None)


def run_all(jobs, ready, launch, finish, max_jobs, enabled=None):
    """Run ``jobs`` (runs, in order) ``max_jobs`` at a time: start the first
    job ``ready(run)`` allows, ``launch(run) -> Launched``, then
    ``finish(launched)`` when it ends. On a failure nothing new starts; the
    running jobs end (and are recorded), then the failure is raised."""
    from mmsoco.utils.progress import progress_bar
    pending, running, failed = list(jobs), [], []
    with progress_bar(
            total=len(pending), desc='runs', unit='run',
            enabled=enabled) as bar:
        while pending or running:
            while not failed and len(running) < max_jobs:
                startable = [run for run in pending if ready(run)]
                if not startable:
                    break
                pending.remove(startable[0])
                running.append(launch(startable[0]))
            if not running:
                if failed:
                    break
                raise RuntimeError('runs wait for pretrainings that are '
                                   'not planned: ' +
                                   ', '.join(r.name for r in pending))
            time.sleep(POLL_S)
            for job in list(running):
                code = job.finished()
                if code is None:
                    continue
                running.remove(job)
                bar.update(1)
                if code:
                    failed.append(f'{job.run.name} (exit {code}; see '
                                  f'{job.output})')
                else:
                    finish(job)
    if failed:
        raise RuntimeError('failed: ' + '; '.join(failed))

"""Heavy model stages on a Slurm cluster, through dask-jobqueue (issue 31).

The connector stays where long-running services may live (a login or service node). It runs
the Dask scheduler in its own process; each Dask worker is a Slurm job (`sbatch`), started
when stages are waiting and stopped when none is (0 to `slurm_max_workers` jobs).
A worker needs only to reach the scheduler: it reads the stage's tables from the connector's
data directory, which must be on the file system the compute nodes share (as `$WORK` on
Leonardo), and sends back the partial. Nothing on a compute node needs outbound network.

- Worker jobs follow the runs: one per run under way (up to the cap), all stopped once no run
  is left (after `idle_seconds`, or at once after a cancelled or failed run), so no idle
  allocation stays behind.
- Cancelling a run stops the Slurm job running it (`scancel`), not only the Dask task: a
  thread in a worker cannot be interrupted, a job can.
- A worker whose Slurm job ends mid-run (killed, pre-empted, out of walltime) fails the stage
  with the reason, once: the scheduler does not retry it elsewhere (`allowed-failures` 0), as
  a killed holder's run fails today.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.compute.executor import RunAborted, RunSpec, execute, wait_for
from models import Partial

log = logging.getLogger("gemello.compute.slurm")
CHECK_S = 3.0  # how often a waiting run checks that its worker jobs are still there
KILLED = ("the Slurm job running the stage ended before it finished (killed, pre-empted or "
          "out of walltime)")  # fmt: skip


@dataclass(frozen=True)
class SlurmOptions:
    """Where and how big the worker jobs are (from the connector's settings)."""

    partition: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    cores: int = 1
    memory: str = "4GiB"
    max_workers: int = 4
    scheduler_host: str | None = None  # what compute nodes reach; default: this host
    python: str | None = None  # the interpreter on compute nodes; default: this one
    job_extra: tuple[str, ...] = ()  # further #SBATCH directives, e.g. --qos=normal
    log_dir: Path | None = None
    idle_seconds: float = 5.0  # an idle worker job is stopped after this long
    environment: dict[str, str] = field(default_factory=dict)  # exported into each job


class SlurmExecutor:
    """Runs stages on Dask workers that are Slurm jobs."""

    def __init__(self, options: SlurmOptions) -> None:
        import dask
        from dask_jobqueue import SLURMCluster
        from distributed import Client

        self.options = options
        extra = [f"--export={_export(options.environment)}", *options.job_extra]
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self.cluster = SLURMCluster(
                queue=options.partition,
                account=options.account,
                walltime=options.walltime,
                cores=options.cores,
                processes=1,
                memory=options.memory,
                python=options.python or sys.executable,
                job_name="gemello-stage",
                job_extra_directives=extra,
                log_directory=str(options.log_dir) if options.log_dir else None,
                scheduler_options={"host": options.scheduler_host or "127.0.0.1"},
                worker_extra_args=["--nthreads", "1"],
                death_timeout=60,
            )
        self.client = Client(self.cluster, set_as_default=False)
        self._lock = threading.Lock()
        self._active = 0  # runs submitted and not ended
        self._idle: threading.Timer | None = None

    def run(self, spec: RunSpec, timeout_s: float, cancel: threading.Event) -> Partial:
        """Submit and wait, polling for a cancel; a cancel or timeout stops the job running it."""
        self._started()
        future = self.client.submit(execute, spec, pure=False)
        try:
            partial = wait_for(future, timeout_s, cancel, stop=self._stop,
                               check=self._check_jobs, check_every_s=CHECK_S,
                               killed=KILLED)  # fmt: skip
        except BaseException:
            del future
            self._ended(immediately=True)
            raise
        del future
        self._ended(immediately=False)
        return partial

    def _check_jobs(self) -> None:
        """A worker job that ended before its worker joined is not noticed by Dask: the task
        would wait for a worker forever. Fail the run if no worker is connected and none of
        the jobs asked for is still in the queue."""
        if self.client.scheduler_info().get("workers"):
            return
        asked = self.jobs()
        if not asked:
            return
        queued = subprocess.run(
            ["squeue", "-h", "-o", "%i", "-j", ",".join(asked)],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.split()  # fmt: skip
        if not queued:
            raise RunAborted(
                f"the Slurm job(s) {', '.join(asked)} for the stage ended before a worker "
                "started (killed, or refused by the cluster: see the job logs)"
            )

    def _started(self) -> None:
        """One more run: enough worker jobs for the runs under way, up to the cap."""
        with self._lock:
            self._active += 1
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
            self.cluster.scale(jobs=min(self._active, self.options.max_workers))

    def _ended(self, immediately: bool) -> None:
        """One run fewer. With none left, the worker jobs stop: at once after a stopped run
        (its pending or idle jobs too), else after `idle_seconds` (a next stage may come)."""
        with self._lock:
            self._active -= 1
            if self._active > 0:
                return
            if immediately:
                self.cluster.scale(jobs=0)
                return
            self._idle = threading.Timer(self.options.idle_seconds, self._when_idle)
            self._idle.daemon = True
            self._idle.start()

    def _when_idle(self) -> None:
        with self._lock:
            if self._active == 0:
                self.cluster.scale(jobs=0)

    def _stop(self, future: Any) -> None:
        """Cancel the task and the Slurm job of the worker running it (if it started)."""
        job = self.job_of(future.key)
        future.cancel()
        if job is not None:
            subprocess.run(["scancel", job], check=False, capture_output=True, timeout=30)
            log.info("scancel %s (run %s stopped)", job, future.key)

    def job_of(self, key: Any) -> str | None:
        """The Slurm job id of the worker processing a task, if one is."""
        processing: dict[str, Any] = self.client.processing()
        info = self.client.scheduler_info()["workers"]
        for address, keys in processing.items():
            if key in keys:
                name = info.get(address, {}).get("name")
                job = self.cluster.workers.get(name)
                return str(job.job_id) if job is not None and job.job_id else None
        return None

    def jobs(self) -> list[str]:
        """The Slurm job ids of the worker jobs now submitted."""
        return [str(j.job_id) for j in self.cluster.workers.values() if j.job_id]

    def close(self) -> None:
        """Stop every worker job and the scheduler."""
        self.client.close()
        self.cluster.close()


def _export(environment: dict[str, str]) -> str:
    """`sbatch --export`: the submitting environment, plus these variables."""
    pairs = ",".join(f"{k}={v}" for k, v in sorted(environment.items()) if "," not in v)
    return "ALL" + ("," + pairs if pairs else "")

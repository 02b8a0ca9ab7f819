"""A real one-node Slurm cluster for the tests, from Debian's `slurm-wlm` and `munge`.

`slurm_cluster()` writes a `slurm.conf` and a munge key in a temporary directory, starts
`munged`, `slurmctld` and `slurmd` on free ports, waits for the node to be idle, and yields
the environment (`SLURM_CONF`) that `sbatch`, `squeue` and `scancel` need. It skips, saying
why, where the daemons are not installed or the tests do not run as root (the daemons must
own their spool); `make test` installs them where it can (the `slurm` target).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


@dataclass(frozen=True)
class SlurmCluster:
    """A running cluster: its config directory and the environment its commands need."""

    root: Path
    env: dict[str, str]

    def squeue(self) -> list[str]:
        """The job ids in the queue (pending or running)."""
        out = self.run("squeue", "-h", "-o", "%i")
        return [line.strip() for line in out.splitlines() if line.strip()]

    def finished(self) -> list[dict[str, str]]:
        """The jobs that ended (the job-completion log), each as its fields."""
        path = self.root / "jobcomp.txt"
        if not path.is_file():
            return []
        return [dict(f.split("=", 1) for f in line.split() if "=" in f)
                for line in path.read_text().splitlines()]  # fmt: skip

    def run(self, *cmd: str) -> str:
        done = subprocess.run(cmd, env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
        return done.stdout


def skip_reason() -> str | None:
    """Why the cluster cannot start here, or None."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return f"Slurm is not installed here ({', '.join(missing)} missing): `make test` installs slurm-wlm and munge as root"  # noqa: E501
    if os.geteuid() != 0:
        return "the Slurm daemons need root to own their spool (run the tests as root)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONF = """ClusterName=gemello
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld}
SlurmdPort={slurmd}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.sock
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=8000 State=UNKNOWN
PartitionName=gemello Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@contextmanager
def slurm_cluster(root: Path) -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd under `root`; stop them (and every job) after."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    host = socket.gethostname().split(".")[0]
    for d in ("state", "spool", "munge"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = root / "slurm.conf"
    conf.write_text(CONF.format(host=host, root=root, ctld=_free_port(), slurmd=_free_port(),
                                cpus=os.cpu_count() or 2))  # fmt: skip
    env = {"SLURM_CONF": str(conf)}
    full = {**os.environ, **env}
    m = root / "munge"
    subprocess.run(["munged", f"--socket={m}/munge.sock", f"--key-file={key}",
                    f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log",
                    f"--seed-file={m}/seed", "--force"], check=True, timeout=30)  # fmt: skip
    subprocess.run(["slurmctld", "-f", str(conf)], env=full, check=True, timeout=30)
    subprocess.run(["slurmd", "-f", str(conf), "-N", host], env=full, check=True, timeout=30)
    cluster = SlurmCluster(root, env)
    try:
        deadline = time.monotonic() + 30
        while "idle" not in cluster.run("sinfo", "-h", "-o", "%t"):
            if time.monotonic() > deadline:
                log = (root / "slurmctld.log").read_text()[-2000:]
                raise AssertionError(f"the Slurm node never became idle:\n{log}")
            time.sleep(0.2)
        yield cluster
    finally:
        cluster.run("scancel", "--full", "--user=root")
        for pidfile in (root / "slurmd.pid", root / "slurmctld.pid", m / "munged.pid"):
            pid = _pid(pidfile)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

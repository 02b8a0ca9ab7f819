"""A throwaway PostgreSQL cluster on a Unix socket, for tests and benchmarks (never production).

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user in a
directory that user owns (outside any 0700 root-only temp dir).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_binary(name: str) -> str | None:
    """Find a PostgreSQL server binary on PATH or in Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    """True when initdb and pg_ctl are installed."""
    return bool(pg_binary("initdb") and pg_binary("pg_ctl"))


@contextmanager
def throwaway_cluster(durable: bool = False) -> Iterator[Path]:
    """Start a cluster (trust auth, user `gemello`; fsync off unless `durable`, for benchmarks
    of durable commits); yield its socket directory."""
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("initdb/pg_ctl not found")
    base = Path(tempfile.mkdtemp(prefix="gemello-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        for path in (base, sock):
            shutil.chown(path, "postgres")
        base.chmod(0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    fsync = "on" if durable else "off"
    options = f"-k {sock} -c listen_addresses='' -c fsync={fsync} -c max_connections=200"
    subprocess.run(
        [
            *prefix,
            initdb,
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "gemello",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield sock
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(socket_dir: Path) -> str:
    """Create an empty database in the cluster and return its SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"host={socket_dir} user=gemello dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://gemello@/{name}?host={socket_dir}"

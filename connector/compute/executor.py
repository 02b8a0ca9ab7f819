"""The Executor port: where a model stage runs at the holder.

- `InlineExecutor`: light stages (weather, zones), in the server's worker thread;
- `ProcessExecutor`: heavy stages by default, a pool of warm worker processes (forkserver);
  a worker whose run times out or is cancelled is killed and replaced;
- `DaskExecutor` (`compute_executor = "dask"`): a Dask distributed cluster (e.g. dask-jobqueue
  on Slurm).

Every adapter runs the same `execute(spec)`: read the tables, keep at most the contribution
limit of rows per person, run the stage. Only paths and parameters cross the process boundary.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models import Partial, get


class RunAborted(Exception):
    """The run ended without a partial: timed out, cancelled, or its worker died."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to run one stage: no connection, no secret."""

    model: str
    stage: str
    tables: Mapping[str, str]  # dataset id -> Parquet path
    params: Mapping[str, Any]
    context: Mapping[str, Any]
    # dataset id -> (contributor column, rows kept per contributor)
    limits: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def limit_contributions(table: pa.Table, column: str, max_rows: int) -> pa.Table:
    """At most `max_rows` rows per contributor (the first ones in table order), so that one
    person moves any output by at most the declared sensitivity times `max_rows`."""
    ids = table.column(column).combine_chunks()
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    rank = np.arange(len(codes)) - np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    keep = np.empty(len(codes), dtype=bool)
    keep[order] = rank < max_rows
    return table.filter(pa.array(keep))


def execute(spec: RunSpec) -> Partial:
    """Run one stage on local tables (the function every adapter calls)."""
    model = get(spec.model)
    stage = model.stage(spec.stage)
    tables: dict[str, pa.Table] = {}
    for dataset, path in spec.tables.items():
        table = pq.read_table(path)
        if dataset in spec.limits:
            column, max_rows = spec.limits[dataset]
            table = limit_contributions(table, column, max_rows)
        tables[dataset] = table
    return stage.run_local(tables, model.parse(spec.params), dict(spec.context))


class Executor(Protocol):
    """Runs a stage to its partial, or raises RunAborted (timeout, cancel, dead worker)."""

    def run(self, spec: RunSpec, timeout_s: float, cancel: threading.Event) -> Partial: ...


class InlineExecutor:
    """In the calling thread. A cancel or timeout is honoured before the run starts and its
    result discarded after; light stages only (they take milliseconds)."""

    def run(self, spec: RunSpec, timeout_s: float, cancel: threading.Event) -> Partial:
        """Run now, in this thread."""
        if cancel.is_set():
            raise RunAborted("cancelled before it started")
        started = time.monotonic()
        partial = execute(spec)
        if cancel.is_set():
            raise RunAborted("cancelled")
        if time.monotonic() - started > timeout_s:
            raise RunAborted(f"timed out after {timeout_s:g} s")
        return partial


def _worker(conn: Connection) -> None:
    """A warm worker: run specs from the pipe until it closes (the parent went away)."""
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", execute(spec)))
        except BaseException as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    proc: Any
    conn: Connection


class ProcessExecutor:
    """A pool of warm worker processes (forked from a clean fork server that imported the
    models once). A run takes an idle worker or starts one; a worker whose run times out or
    is cancelled is killed and replaced, so a stuck kernel never holds the connector, and a
    crash in a kernel cannot take the connector down. Warm workers keep their compiled
    kernels: only the first heavy run of a process pays for loading them."""

    def __init__(self, max_idle: int = 2) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["connector.compute.executor", "models.registry"])
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle

    def _acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.proc.is_alive():
                    return worker
                worker.conn.close()
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker, args=(child,), daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.proc.is_alive() and len(self._idle) < self._max_idle:
                self._idle.append(worker)
                return
        self._discard(worker)

    @staticmethod
    def _discard(worker: _Worker) -> None:
        if worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(5)
        worker.conn.close()

    def run(self, spec: RunSpec, timeout_s: float, cancel: threading.Event) -> Partial:
        """Run in a worker process and wait for its partial."""
        worker = self._acquire()
        deadline = time.monotonic() + timeout_s
        try:
            worker.conn.send(spec)
            while True:
                if worker.conn.poll(0.1):
                    try:
                        status, payload = worker.conn.recv()
                    except (EOFError, OSError):
                        raise RunAborted(
                            f"the worker process died (exit code {worker.proc.exitcode})"
                        ) from None
                    if status == "ok":
                        self._release(worker)
                        return payload  # type: ignore[no-any-return,unused-ignore]
                    self._release(worker)  # the model raised; the worker itself is fine
                    raise RunAborted(f"the model failed: {payload}")
                if cancel.is_set():
                    raise RunAborted("cancelled")
                if time.monotonic() > deadline:
                    raise RunAborted(f"timed out after {timeout_s:g} s")
                if not worker.proc.is_alive() and not worker.conn.poll(0):
                    raise RunAborted(f"the worker process died (exit code {worker.proc.exitcode})")
        except RunAborted as exc:
            if not str(exc).startswith("the model failed"):
                self._discard(worker)
            raise
        except BaseException:
            self._discard(worker)
            raise

    def close(self) -> None:
        """Stop the idle workers."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            self._discard(worker)


def wait_for(
    future: Any,
    timeout_s: float,
    cancel: threading.Event,
    stop: Callable[[Any], None],
    check: Callable[[], None] | None = None,
    check_every_s: float = 3.0,
    killed: str | None = None,
) -> Partial:
    """A Dask future's partial, polling for a cancel and the deadline (and calling `check`
    now and then, which may raise RunAborted); on either, `stop` the future. A worker lost
    mid-task (`KilledWorker`) is reported as `killed` when given."""
    from distributed import TimeoutError as DaskTimeout

    deadline = time.monotonic() + timeout_s
    next_check = time.monotonic() + check_every_s
    try:
        while True:
            try:
                return future.result(timeout=0.2)  # type: ignore[no-any-return,unused-ignore]
            except DaskTimeout:
                pass
            if cancel.is_set():
                raise RunAborted("cancelled")
            if time.monotonic() > deadline:
                raise RunAborted(f"timed out after {timeout_s:g} s")
            if check is not None and time.monotonic() > next_check:
                next_check = time.monotonic() + check_every_s
                check()
    except RunAborted:
        stop(future)
        raise
    except Exception as exc:
        if killed is not None and type(exc).__name__ == "KilledWorker":
            raise RunAborted(killed) from exc
        raise RunAborted(f"the model failed: {type(exc).__name__}: {exc}") from exc


class DaskExecutor:
    """On a Dask distributed cluster at `address` (the scheduler's). The tables must be
    readable at the same paths on the workers (shared file system, as on an HPC cluster)."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self.client = Client(address, set_as_default=False)

    def run(self, spec: RunSpec, timeout_s: float, cancel: threading.Event) -> Partial:
        """Submit and wait, polling for a cancel."""
        future = self.client.submit(execute, spec, pure=False)
        return wait_for(future, timeout_s, cancel, stop=lambda f: f.cancel())

    def close(self) -> None:
        """Disconnect from the scheduler."""
        self.client.close()


def make_executors(
    kind: str, dask_address: str | None, slurm: Any = None
) -> tuple[Executor, Executor]:
    """(executor for light stages, executor for heavy ones) for a setting value; `slurm` is
    the `SlurmOptions` for 'slurm'."""
    inline = InlineExecutor()
    if kind == "inline":
        return inline, inline
    if kind == "process":
        proc = ProcessExecutor()
        return proc, proc
    if kind == "dask":
        if not dask_address:
            raise ValueError("compute_executor = 'dask' needs compute_dask_address")
        dask = DaskExecutor(dask_address)
        return dask, dask
    if kind == "slurm":
        from connector.compute.slurm import SlurmExecutor

        return inline, SlurmExecutor(slurm)
    if kind == "auto":
        return inline, ProcessExecutor()
    raise ValueError(f"unknown compute executor '{kind}' (auto, inline, process, dask, slurm)")

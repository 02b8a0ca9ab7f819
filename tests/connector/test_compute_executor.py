"""The Executor port: every adapter runs the same stage to the same partial; a process run is
killed on timeout or cancel, and a dying worker is reported, not waited for forever."""

from __future__ import annotations

import base64
import multiprocessing
import os
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from connector.compute import wire
from connector.compute.executor import (
    DaskExecutor,
    Executor,
    InlineExecutor,
    ProcessExecutor,
    RunAborted,
    RunSpec,
    limit_contributions,
)
from models import Partial


@pytest.fixture(scope="module")
def areas_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    table = pa.table(
        {
            "area_code": pa.array(np.arange(1, 91), pa.int32()),
            "centroid_lat": 44.45 + np.arange(90) / 1000,
            "centroid_lon": 11.30 + np.arange(90) / 1000,
        }
    )
    path = tmp_path_factory.mktemp("tables") / "areas.parquet"
    pq.write_table(table, path)
    return str(path)


def _spec(path: str, **params: object) -> RunSpec:
    return RunSpec("mobility-gravity", "zones", {"statistical-areas": path}, dict(params), {})


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[DaskExecutor]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        yield executor
        executor.close()


@pytest.mark.parametrize("kind", ["inline", "process", "dask"])
def test_every_adapter_returns_the_same_partial(
    kind: str, areas_file: str, request: pytest.FixtureRequest
) -> None:
    executor: Executor = {
        "inline": InlineExecutor,
        "process": ProcessExecutor,
        "dask": lambda: request.getfixturevalue("dask_executor"),
    }[kind]()
    partial = executor.run(_spec(areas_file), 60, threading.Event())
    assert isinstance(partial, Partial)
    np.testing.assert_allclose(partial.arrays["lat"], 44.45 + np.arange(90) / 1000)


def _slow_spec(tmp_path: Path) -> RunSpec:
    # the CTM on a long chain for 24 h at 1 s steps: seconds of work, so a timeout hits it
    n = 4000
    graph = pa.table(
        {
            "arc_code": np.arange(n, dtype=np.int64),
            "street": ["VIA LUNGA"] * n,
            "node_from": np.arange(n, dtype=np.int64),
            "node_to": np.arange(1, n + 1, dtype=np.int64),
            "length_m": np.full(n, 500.0),
            "lat": np.full(n, 44.5),
            "lon": np.full(n, 11.3),
        }
    )
    counts = pa.table(
        {
            "arc_code": pa.array([0], pa.int64()),
            "hour": pa.array([8], pa.int8()),
            "vehicles": pa.array([100], pa.int32()),
        }
    )
    pq.write_table(graph, tmp_path / "graph.parquet")
    pq.write_table(counts, tmp_path / "counts.parquet")
    tables = {
        "road-graph": str(tmp_path / "graph.parquet"),
        "traffic-loop-counts": str(tmp_path / "counts.parquet"),
    }
    return RunSpec("mobility-ctm", "traffic", tables, {"step_seconds": 1.0}, {})


def test_a_process_run_past_its_timeout_is_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RunAborted, match="timed out after 1 s"):
        ProcessExecutor().run(_slow_spec(tmp_path), 1.0, threading.Event())
    assert time.monotonic() - started < 10


def test_a_cancelled_process_run_stops(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(RunAborted, match="cancelled"):
        ProcessExecutor().run(_slow_spec(tmp_path), 60, cancel)


def test_a_failing_model_reports_why(areas_file: str) -> None:
    spec = RunSpec("mobility-gravity", "flows", {"statistical-areas": areas_file}, {}, {})
    with pytest.raises(RunAborted, match="no origin-destination dataset"):
        ProcessExecutor().run(spec, 60, threading.Event())


def test_a_worker_that_dies_is_reported(tmp_path: Path) -> None:
    """A worker killed from outside mid-run (as the OOM killer would) fails the run at once."""
    killed: list[int] = []

    def kill_workers() -> None:  # once the worker runs (its start is slow on a busy host)
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            time.sleep(0.2)
            for child in multiprocessing.active_children():
                if child.pid is not None:
                    os.kill(child.pid, 9)
                    killed.append(child.pid)

    threading.Timer(1.5, kill_workers).start()
    started = time.monotonic()
    with pytest.raises(RunAborted, match="worker process died"):
        ProcessExecutor().run(_slow_spec(tmp_path), 60, threading.Event())
    assert killed
    assert time.monotonic() - started < 40


def test_contributions_are_limited_per_person() -> None:
    table = pa.table({"person": ["a"] * 15 + ["b"] * 3 + ["c"], "x": np.arange(19)})
    kept = limit_contributions(table, "person", 10)
    counts = dict(
        zip(
            *np.unique(kept.column("person").to_numpy(zero_copy_only=False), return_counts=True),
            strict=True,
        )
    )
    assert counts == {"a": 10, "b": 3, "c": 1}
    assert kept.column("x").to_pylist()[:10] == list(range(10))  # the first rows are kept


def test_arrays_cross_the_wire_bit_for_bit() -> None:
    values = np.random.default_rng(1).normal(size=(90, 12, 24))
    values[3, 4, 5] = np.nan
    back = wire.decode_array(wire.encode_array(values))
    assert back.dtype == values.dtype
    np.testing.assert_array_equal(back, values)
    ctx = wire.decode_value(
        wire.encode_value({"a": values[:2], "n": np.float64(2.5), "s": [1, "x"]})
    )
    assert ctx["n"] == 2.5
    assert ctx["s"] == [1, "x"]
    with pytest.raises(ValueError, match="malformed array"):
        wire.decode_array({"__array__": "<f8", "shape": [2], "data": "not base64!"})
    # Every dtype and shape the models send, shuffled bytes included; a shuffle that does
    # not match the element size is refused, not misread.
    for a in (
        np.arange(7, dtype=np.int32),
        np.array([True, False, True]),
        np.zeros((2, 0, 3)),
        np.array(5.0),
        np.array([1.5, -2.25], dtype=">f8"),
    ):
        np.testing.assert_array_equal(wire.decode_array(wire.encode_array(a)), a)
    doc = wire.encode_array(values) | {"shuffle": 4}
    with pytest.raises(ValueError, match="malformed array"):
        wire.decode_array(doc)
    # a shape that does not fit the bytes, and an unknown codec, are refused
    for bad in ({"shape": [len(values) + 1]}, {"codec": "brotli"}):
        with pytest.raises(ValueError, match="malformed array"):
            wire.decode_array(wire.encode_array(values) | bad)
    # a small declared shape over a large payload (a compression bomb) is refused unread
    for codec, blob in (
        ("zstd", zstandard.ZstdCompressor().compress(bytes(50_000_000))),
        ("zlib", zlib.compress(bytes(50_000_000))),
    ):
        bomb = {"__array__": "<f8", "shape": [2], "codec": codec, "data": base64.b64encode(blob)}
        tracemalloc.start()
        with pytest.raises(ValueError, match="malformed array"):
            wire.decode_array(bomb | {"data": bomb["data"].decode()})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 5_000_000, f"{codec}: {peak:,} bytes allocated to refuse it"
    # what earlier versions sent (zlib, no codec field, unshuffled) still reads
    old = {
        "__array__": "<f8",
        "shape": [3],
        "data": base64.b64encode(zlib.compress(np.array([1.0, 0.0, -2.5]).tobytes())).decode(),
    }
    np.testing.assert_array_equal(wire.decode_array(old), [1.0, 0.0, -2.5])

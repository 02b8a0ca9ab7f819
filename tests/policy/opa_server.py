"""A throwaway OPA server for the adapter contract test (used only when `opa` is on PATH)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from policy.opa import OpaServerPDP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def opa_pdp(binary: str) -> Iterator[OpaServerPDP]:
    """`opa run --server` on a free loopback port, and an adapter pointed at it."""
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("opa did not start")
            time.sleep(0.1)
        pdp = OpaServerPDP(f"http://127.0.0.1:{port}")
        yield pdp
        pdp.close()
    finally:
        proc.terminate()
        proc.wait(10)

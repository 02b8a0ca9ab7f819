"""The local N-member harness: partner connectors as `gemello connector serve` subprocesses on
loopback ports, started together and always stopped together. The demo, the benchmarks and the
e2e tests share it; no production module imports it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from connector.settings import Settings

READY_TIMEOUT_S = 90.0


@dataclass
class RunningConnector:
    """One connector subprocess and where to reach it."""

    settings: Settings
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the connector logged (for error messages)."""
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on host:port right now. A port whose last connections are in
    TIME_WAIT counts as free: uvicorn binds with SO_REUSEADDR, and so does this check."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def choose_ports(settings: list[Settings]) -> dict[str, str]:
    """Each partner's configured port if free, another free port otherwise: partner -> URL."""
    urls = {}
    for s in settings:
        port = s.port if s.port and port_is_free(s.host, s.port) else free_port(s.host)
        urls[s.partner] = f"http://{s.host}:{port}"
    return urls


def start_connector(
    settings: Settings, home: Path, log_dir: Path, url: str, env: dict[str, str] | None = None
) -> RunningConnector:
    """Spawn `gemello connector serve` for one partner, listening at `url` (`env`: settings
    given as `GEMELLO_*` variables, over the partner's TOML)."""
    port = int(url.rsplit(":", 1)[1])
    log_path = log_dir / f"{settings.partner}.log"
    log_file = log_path.open("wb")
    cmd = [
        sys.executable,
        "-m",
        "connector.cli",
        "connector",
        "serve",
        "--partner",
        settings.partner,
        "--home",
        str(home),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    # Own process group, so a Ctrl-C in the terminal reaches us first and we stop them in order.
    proc = subprocess.Popen(
        cmd,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **env} if env else None,
    )
    return RunningConnector(settings, url, proc, log_path, log_file)


def wait_ready(
    conn: RunningConnector, client: httpx.Client, timeout: float, poll: float = 0.2
) -> None:
    """Poll /ready until it answers 200; raise with the log tail if the process dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.process.poll() is not None:
            raise RuntimeError(
                f"{conn.settings.partner} exited with code "
                f"{conn.process.returncode}:\n{conn.log_tail()}"
            )
        try:
            if client.get(f"{conn.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(poll)
    raise RuntimeError(
        f"{conn.settings.partner} not ready after {timeout:.0f}s:\n{conn.log_tail()}"
    )


def stop(conns: list[RunningConnector], grace: float = 10.0) -> None:
    """SIGTERM every connector, wait for a clean exit, SIGKILL stragglers."""
    for c in conns:
        if c.process.poll() is None:
            c.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for c in conns:
        try:
            c.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.process.kill()
            c.process.wait()
        c.log_file.close()


@contextmanager
def federation(
    home: Path, settings: list[Settings], env: dict[str, str] | None = None
) -> Iterator[list[RunningConnector]]:
    """Start the connectors, wait for all to be ready, and always stop them on the way out.

    The trust list is what members use to find each other, so the URLs actually used are
    written (and re-signed by the authority) into it before any connector starts.
    """
    from connector.dataspace import set_member_urls

    log_dir = home / "var" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    urls = choose_ports(settings)
    set_member_urls(home, urls)
    conns: list[RunningConnector] = []
    try:
        for s in settings:
            conns.append(start_connector(s, home, log_dir, urls[s.partner], env))
        with httpx.Client() as client:
            for c in conns:
                wait_ready(c, client, READY_TIMEOUT_S)
        yield conns
    finally:
        stop(conns)

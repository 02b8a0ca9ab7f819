"""Helpers for the e2e tests: a `gemello demo --keep-running` federation as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DemoRun:
    """A running demo: its process, the partners' URLs, and where it logs."""

    proc: subprocess.Popen[bytes]
    log: Path
    urls: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C or `kill` would, and wait for the exit (idempotent)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


@contextmanager
def keep_running_demo(home: Path, timeout: float = 240) -> Iterator[DemoRun]:
    """Start the demo, wait for its URLs file, and SIGTERM it (waiting for the exit) afterwards."""
    urls_file, log = home / "urls.json", home / "demo.log"
    cmd = [sys.executable, "-m", "connector.cli", "demo", "--home", str(home)]
    cmd += ["--keep-running", "--urls-file", str(urls_file)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    run = DemoRun(proc, log)
    try:
        deadline = time.monotonic() + timeout
        while not urls_file.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "demo never wrote its URLs file"
            time.sleep(0.3)
        run.urls = json.loads(urls_file.read_text())
        yield run
    finally:
        run.stop()

"""How long the `gemello` command takes as people use it: a fresh process each time (imports
included), against a real connector where the command talks to one.

Targets (issue 25): `gemello --help` and `gemello version` ≤ 0.3 s; a command that talks to a
running connector ≤ 0.8 s plus the server's time, which is measured here with the same request
from a warm HTTP client in the same rounds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

HELP_TARGET_S = 0.3
CALL_TARGET_S = 0.8


def _wall(args: list[str], home: Path, ok: tuple[int, ...] = (0,)) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        capture_output=True,
        env={"GEMELLO_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )
    elapsed = time.perf_counter() - t0
    if done.returncode not in ok:
        raise RuntimeError(f"gemello {' '.join(args)}: {done.stderr.decode()[-300:]}")
    return elapsed


def bench_cli(home: Path, url: str, token: str, partner: str, repeat: int) -> list[dict[str, Any]]:
    """Each command's wall time (median of `repeat`, rounds interleaved), and for the commands
    that call the connector, the server's time for the same request."""
    # `dataspace status` exits 1 here: only one member's connector runs
    lenient = {"gemello dataspace status (GET /ready of 4 members)": (0, 1)}
    commands: dict[str, tuple[list[str], str | None]] = {
        "gemello --help": (["--help"], None),
        "gemello version": (["version"], None),
        "gemello jobs list (GET /jobs)": (
            ["jobs", "list", "--partner", partner, "--url", url, "--token", token],
            "/jobs",
        ),
        "gemello dataspace status (GET /ready of 4 members)": (["dataspace", "status"], None),
        "gemello user list (opens the database, no server)": (
            ["user", "list", "--partner", partner],
            None,
        ),
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    server: dict[str, list[float]] = {name: [] for name, (_, path) in commands.items() if path}
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(repeat):
            for name, (args, path) in commands.items():
                walls[name].append(_wall(args, home, lenient.get(name, (0,))))
                if path:
                    t0 = time.perf_counter()
                    client.get(path, headers=auth).raise_for_status()
                    server[name].append(time.perf_counter() - t0)
    rows = []
    for name in commands:
        wall = statistics.median(walls[name])
        at_server = statistics.median(server[name]) if name in server else None
        rows.append({"command": name, "wall_s": wall, "server_s": at_server})
    return rows


def cli_section(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown section."""

    def verdict(r: dict[str, Any]) -> str:
        if r["command"] in ("gemello --help", "gemello version"):
            return "met" if r["wall_s"] <= HELP_TARGET_S else "missed"
        if r["server_s"] is not None:
            return "met" if r["wall_s"] - r["server_s"] <= CALL_TARGET_S else "missed"
        return "—"

    lines = [
        "## Command line (a fresh `gemello` process per call)",
        "",
        f"Targets (issue 25): `--help` and `version` ≤ {HELP_TARGET_S} s; a command that calls "
        f"a running connector ≤ {CALL_TARGET_S} s plus the server's time (the same request from "
        "a warm client, in the same rounds). Commands import only what they use "
        "(docs/decisions/0020); `dataspace status` asks the four members of a benchmark "
        "dataspace where only one connector runs, so it answers 'not started' for three.",
        "",
        "| command | wall, s | server, s | CLI's own, s | target |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        server = f"{r['server_s']:.3f}" if r["server_s"] is not None else "—"
        own = r["wall_s"] - (r["server_s"] or 0)
        wall, name = r["wall_s"], r["command"]
        lines.append(f"| `{name}` | {wall:.3f} | {server} | {own:.3f} | {verdict(r)} |")
    return [*lines, ""]

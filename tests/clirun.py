"""Run the `gemello` command as a user would: a real subprocess against a dataspace home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def gemello(
    home: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`gemello ARGS --home HOME`, output captured as text (`env`: variables to add)."""
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )

"""The `gemello` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


def gemello(
    *args: str, home: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "connector.cli", *args]
    if home is not None:
        cmd += ["--home", str(home)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_commands() -> None:
    result = gemello("--help")
    assert result.returncode == 0
    for word in ("init", "connector", "demo", "bench"):
        assert word in result.stdout


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (("port = 8403", "port = 99999"), "port: Input should be less than or equal to 65535"),
        (('pdp_backend = "regopy"', 'pdp_backend = "nope"'), "pdp_backend: Input should be"),
        (('partner = "unibo"', "partner = "), "invalid TOML"),
    ],
)
def test_serve_with_a_broken_config_exits_2_with_one_line(
    home: Path, edit: tuple[str, str], expect: str
) -> None:
    path = home / "deploy" / "partners" / "unibo.toml"
    path.write_text(path.read_text().replace(*edit))
    result = gemello("connector", "serve", "--partner", "unibo", home=home)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expect in lines[0]
    assert "Traceback" not in result.stderr


def test_serve_an_unknown_partner_exits_2(home: Path) -> None:
    result = gemello("connector", "serve", "--partner", "acme", home=home)
    assert result.returncode == 2
    assert "no config for partner 'acme'" in result.stderr


def test_init_creates_keys_tables_and_the_dataspace_file(home: Path) -> None:
    result = gemello("init", "--partner", "unibo", "--partner", "fbk", home=home)
    assert result.returncode == 0, result.stderr
    key = home / "var" / "unibo" / "keys" / "signing-ed25519.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (home / "var" / "fbk" / "tables" / "trips.parquet").is_file()
    space = tomllib.loads((home / "var" / "dataspace.toml").read_text())
    members = {m["id"]: m for m in space["members"]}
    assert members["unibo"]["public_keys"][0]["kty"] == "OKP"
    assert members["comune"]["public_keys"] == []  # not initialised here
    # a second run reuses the keys
    before = key.read_bytes()
    assert gemello("init", "--partner", "unibo", home=home).returncode == 0
    assert key.read_bytes() == before

"""The `gemello` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from connector.identity.trustlist import load_anchor, load_trust_list, verify


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
    for word in ("init", "connector", "demo", "bench", "dataspace", "keys", "user", "token"):
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


def test_init_creates_keys_tables_and_the_signed_trust_list(home: Path) -> None:
    result = gemello("init", "--partner", "unibo", "--partner", "fbk", home=home)
    assert result.returncode == 0, result.stderr
    keys = home / "var" / "unibo" / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    ring = json.loads((keys / "keyring.json").read_text())
    key = keys / f"ed25519-{ring['active']}.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    authority_key = home / "var" / "comune" / "keys" / "authority-ed25519.pem"
    assert stat.S_IMODE(authority_key.stat().st_mode) == 0o600
    assert (home / "var" / "fbk" / "tables" / "trips.parquet").is_file()
    space = load_trust_list(home / "var" / "dataspace.toml")
    verify(space, load_anchor(home / "var" / "trust-anchor.json"))
    members = {m.id: m for m in space.members}
    assert [k.kid for k in members["unibo"].keys] == [ring["active"]]
    assert members["unibo"].participant_id == "urn:gemello:bologna:unibo"
    assert members["comune"].keys == []  # not initialised here
    # a second run reuses the keys and leaves the signed list alone
    before = key.read_bytes()
    assert gemello("init", "--partner", "unibo", home=home).returncode == 0
    assert key.read_bytes() == before
    assert load_trust_list(home / "var" / "dataspace.toml").revision == space.revision

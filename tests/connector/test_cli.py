"""The `gemello` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from connector.identity.trustlist import load_anchor, load_trust_list, verify
from tests.clirun import run_cli


def gemello(
    *args: str, home: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run_cli([*args, *(["--home", str(home)] if home is not None else [])], timeout)


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


@pytest.fixture
def inited(home: Path) -> Path:
    """A home whose four partners have keys and a signed trust list (no tables)."""
    from connector.dataspace import establish_trust
    from connector.settings import load_settings

    establish_trust(home, [load_settings(p, home) for p in ("comune", "cineca", "unibo", "fbk")])
    return home


def test_serve_refuses_a_data_dir_without_its_identity(inited: Path) -> None:
    """Issue 24, item 7: a typo in data_dir started a connector with a new key, an empty
    database and regenerated tables, on the usual port, without a word."""
    path = inited / "deploy" / "partners" / "unibo.toml"
    path.write_text(path.read_text().replace('data_dir = "var/unibo"', 'data_dir = "var/unibbo"'))
    result = gemello("connector", "serve", "--partner", "unibo", home=inited)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "var/unibbo holds no signing key of unibo" in lines[0]
    assert "gemello init --partner unibo" in lines[0]
    assert not (inited / "var" / "unibbo" / "keys").exists()  # nothing was made up
    assert not (inited / "var" / "unibbo" / "connector.db").exists()
    assert not (inited / "var" / "unibbo" / "tables").exists()


@pytest.mark.parametrize("command", [("connector", "serve"), ("user", "list")])
def test_an_unreachable_database_is_one_line_naming_the_setting(
    inited: Path, command: tuple[str, ...]
) -> None:
    """Issue 24, item 8: an unreachable database printed a 275-line traceback and exited 3."""
    env = {"GEMELLO_DATABASE_URL": "postgresql+psycopg://gemello:secret@127.0.0.1:1/twin"}
    result = _gemello_env(env, *command, "--partner", "unibo", home=inited)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "cannot open postgresql+psycopg://gemello:***@127.0.0.1:1/twin" in lines[0]
    assert "GEMELLO_DATABASE_URL" in lines[0]
    assert "secret" not in result.stderr


def _gemello_env(env: dict[str, str], *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_cli([*args, "--home", str(home)], env=env)


def test_the_cli_refuses_to_write_where_the_running_server_does_not_read(
    inited: Path, tmp_path: Path
) -> None:
    """Issue 24, item 6: with GEMELLO_DATABASE_URL set for the server only, `gemello user add`
    in another shell wrote to the SQLite file, and the token was then unknown to the server."""
    import os
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server_env = {"GEMELLO_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "connector", "serve", "--partner", "unibo",
         "--port", str(port), "--home", str(inited)],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ | server_env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        add = ("user", "add", "--partner", "unibo", "--role", "researcher", "--token-only")
        refused = gemello(*add, "--name", "ada", home=inited)
        assert refused.returncode == 2
        assert f"running as pid {proc.pid} uses the database sqlite:///{tmp_path}" in (
            refused.stderr
        )
        assert "GEMELLO_DATABASE_URL" in refused.stderr
        assert not (inited / "var" / "unibo" / "connector.db").exists()  # nothing written
        same = _gemello_env(server_env, *add, "--name", "ada", home=inited)
        assert same.returncode == 0, same.stderr
        token = same.stdout.strip()
        who = httpx.get(
            f"http://127.0.0.1:{port}/identity/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        assert who.status_code == 200, who.text  # the server knows the token
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert not (inited / "var" / "unibo" / "server.json").exists()  # removed on the way out


def test_user_add_prints_the_token_once_and_keeps_only_its_digest(inited: Path) -> None:
    added = gemello(
        "user", "add", "--partner", "unibo", "--role", "steward", "--name", "ada", home=inited
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("gmo_")
    listed = gemello("token", "list", "--partner", "unibo", home=inited)
    assert listed.returncode == 0
    assert "ada" in listed.stdout
    assert token not in listed.stdout
    token_id = next(w for w in listed.stdout.split() if w.startswith("tok_"))
    db = (inited / "var" / "unibo" / "connector.db").read_bytes()
    assert token.encode() not in db
    revoked = gemello("token", "revoke", "--partner", "unibo", token_id, home=inited)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in gemello("token", "list", "--partner", "unibo", home=inited).stdout
    users = gemello("user", "list", "--partner", "unibo", home=inited)
    assert "steward" in users.stdout


@pytest.mark.parametrize(
    ("args", "code", "expect"),
    [
        (("--role", "king", "--name", "x"), 2, "king"),
        (("--role", "admin", "--name", "has space"), 2, "name"),
    ],
)
def test_user_add_rejects_bad_input(
    inited: Path, args: tuple[str, ...], code: int, expect: str
) -> None:
    result = gemello("user", "add", "--partner", "unibo", *args, home=inited)
    assert result.returncode == code
    assert expect in result.stderr
    assert "Traceback" not in result.stderr


def test_a_duplicate_user_is_one_clear_line(inited: Path) -> None:
    args = ("user", "add", "--partner", "fbk", "--role", "auditor", "--name", "eve")
    assert gemello(*args, home=inited).returncode == 0
    again = gemello(*args, home=inited)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_keys_rotate_publishes_both_keys(inited: Path) -> None:
    result = gemello("keys", "rotate", "--partner", "cineca", "--overlap", "90", home=inited)
    assert result.returncode == 0, result.stderr
    listed = gemello("keys", "list", "--partner", "cineca", home=inited)
    assert "active" in listed.stdout
    assert "retiring" in listed.stdout
    space = load_trust_list(inited / "var" / "dataspace.toml")
    verify(space, load_anchor(inited / "var" / "trust-anchor.json"))
    assert len(space.member("cineca").keys) == 2


def test_dataspace_membership_changes_are_signed(inited: Path, tmp_path: Path) -> None:
    from connector.identity.keys import generate_key

    key, _pem = generate_key()
    jwk = tmp_path / "arpae.jwk.json"
    jwk.write_text(json.dumps({**key.as_dict(private=False), "kid": key.thumbprint()}))
    added = gemello(
        "dataspace",
        "add-member",
        "--id",
        "arpae",
        "--participant-id",
        "urn:gemello:bologna:arpae",
        "--name",
        "ARPAE Emilia-Romagna",
        "--url",
        "https://gemello.arpae.example",
        "--key",
        str(jwk),
        home=inited,
    )
    assert added.returncode == 0, added.stderr
    shown = gemello("dataspace", "show", home=inited)
    assert shown.returncode == 0
    assert "arpae" in shown.stdout
    assert "signature verified" in shown.stdout
    assert gemello("dataspace", "remove-member", "--id", "arpae", home=inited).returncode == 0
    no_authority = gemello("dataspace", "remove-member", "--id", "comune", home=inited)
    assert no_authority.returncode == 2
    assert "authority" in no_authority.stderr
    # an edit by hand breaks the signature: show says so, and nobody re-signs it
    path = inited / "var" / "dataspace.toml"
    path.write_text(path.read_text().replace("8402", "9402"))
    broken = gemello("dataspace", "show", home=inited)
    assert broken.returncode == 1
    assert "does not verify" in broken.stderr
    refused = gemello("dataspace", "remove-member", "--id", "fbk", home=inited)
    assert refused.returncode == 2
    assert "refusing to re-sign" in refused.stderr


def test_models_lists_each_scenario_parameter_with_default_and_range() -> None:

    from rich.console import Console

    import models
    from connector.cli.jobs import parameter_table

    for model in models.MODELS.values():  # every field of every scenario, in process
        console = Console(width=250, record=True)
        console.print(parameter_table(model.name, model.version, model.params))
        lines = console.export_text().splitlines()[4:-1]
        rows = {line.split("│")[1].strip() for line in lines}
        assert set(model.params.model_fields) <= rows, (model.name, lines)
    flood = run_cli(["models", "flood-scs-nash"], env={"COLUMNS": "250"})  # as a user runs it
    assert flood.returncode == 0, flood.stderr
    row = [line for line in flood.stdout.splitlines() if "rain_multiplier" in line][0]
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells == ["rain_multiplier", "float", "1.0", "> 0, ≤ 3", "climate change factor"]
    unknown = gemello("models", "nope")
    assert unknown.returncode == 2
    assert "no model 'nope'; installed: mobility-ctm" in unknown.stderr

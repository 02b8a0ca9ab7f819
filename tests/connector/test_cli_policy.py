"""`gemello policy ...` as a steward runs it (real subprocesses)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from connector.identity.schemas import Role
from tests.clirun import run_cli

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[1] / "policy" / "cases"


def policy(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["policy", *args], only_env={"COLUMNS": "200", "PATH": ""})


def test_the_case_table_passes_and_a_wrong_expectation_fails(tmp_path: Path) -> None:
    done = policy("test", str(CASES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "49 passed, 0 failed" in done.stdout
    broken = tmp_path / "cases"
    shutil.copytree(CASES, broken)
    table = (broken / "cases.toml").read_text()
    (broken / "cases.toml").write_text(table.replace('expect = "allow"', 'expect = "deny"', 1))
    done = policy("test", str(broken))
    assert done.returncode == 1
    assert "48 passed, 1 failed" in done.stdout


def test_a_case_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    shutil.copytree(CASES, tmp_path / "cases")
    path = tmp_path / "cases" / "cases.toml"
    path.write_text(
        path.read_text() + '\n[[case]]\nname = "x"\ndataset = "trips"\n'
        'action = "read"\nexpect = "deny"\npurpse = "research"\n'
    )
    done = policy("test", str(tmp_path / "cases"))
    assert done.returncode == 2  # a broken table is a usage error, not a failed case
    assert "unknown keys ['purpse']" in done.stderr + done.stdout


def test_explain_prints_plain_language_or_the_problems() -> None:
    done = policy("explain", str(CASES / "policies" / "buildings.json"))
    assert done.returncode == 0, done.stderr
    assert "the recipient may compute if modelHash is sha256:energy-5r1c" in done.stdout
    assert "count is at most 3" in done.stdout
    assert "Prohibitions always win" in done.stdout
    done = policy("explain", str(CASES / "policies" / "legacy-operand.json"))
    assert done.returncode == 1
    assert "unknown leftOperand 'weather'" in done.stdout


def test_bundle_writes_the_opa_layout(tmp_path: Path) -> None:
    done = policy("bundle", str(CASES), "--output", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "b" / ".manifest").read_text())
    assert manifest["roots"] == ["gemello"]
    assert manifest["revision"] in done.stdout
    modules = list((tmp_path / "b").rglob("*.rego"))
    assert len(modules) == 1 + len(list((CASES / "policies").glob("*.json")))
    assert all("import rego.v1" in m.read_text() for m in modules)


async def test_set_check_show_explain_and_approvals_on_a_connector(
    home: Path, client: object, tmp_path: Path, user_tokens: dict[Role, str]
) -> None:
    # `client` started unibo's app once, so its catalogue (the datasets policies attach to)
    # is in the database; the CLI then works on the same files.
    del client
    from tests.clirun import gemello

    steward = ("--token", user_tokens[Role.steward])

    file = tmp_path / "bikes.json"
    file.write_text(
        json.dumps(
            {
                "@id": "urn:gemello:unibo:policy:bikes",
                "permission": [
                    {
                        "action": "read",
                        "constraint": [
                            {
                                "leftOperand": "purpose",
                                "operator": "isA",
                                "rightOperand": "research",
                            }
                        ],
                    }
                ],
            }
        )
    )
    # A steward's act is theirs: without a token, or with a researcher's, it is refused.
    anonymous = gemello(home, "policy", "set", "bike-counters", str(file), "--partner", "unibo")
    assert anonymous.returncode == 2
    assert "--token or GEMELLO_TOKEN" in anonymous.stderr
    researcher = gemello(
        home, "policy", "set", "bike-counters", str(file), "--partner", "unibo",
        "--token", user_tokens[Role.researcher],
    )  # fmt: skip
    assert researcher.returncode == 2
    assert "is a researcher; this act needs a steward or admin" in researcher.stderr
    done = gemello(
        home, "policy", "set", "bike-counters", str(file), "--partner", "unibo", *steward
    )
    assert done.returncode == 0, done.stderr
    assert "version 1" in done.stdout
    check = ("policy", "check", "--dataset", "bike-counters", "--partner", "unibo")
    allowed = gemello(home, *check, "--action", "read", "--purpose", "academic-research")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "ALLOW" in allowed.stdout
    denied = gemello(
        home, *check, "--action", "read", "--purpose", "commercial", "--at", "2026-05-01T10:00:00Z"
    )
    assert denied.returncode == 3
    assert "purpose 'commercial' is not a kind of research (permission 1 (read))" in denied.stdout
    shown = gemello(home, "policy", "show", "bike-counters", "--partner", "unibo")
    assert json.loads(shown.stdout)["@id"] == "urn:gemello:unibo:policy:bikes"
    explained = gemello(home, "policy", "explain", "bike-counters", "--partner", "unibo")
    assert "research" in explained.stdout, explained.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"@id": "x", "permission": [{"action": "sell"}]}))
    refused = gemello(
        home, "policy", "set", "bike-counters", str(bad), "--partner", "unibo", *steward
    )
    assert refused.returncode == 1
    assert "unknown action 'sell'" in refused.stderr
    missing = gemello(
        home, "approvals", "approve", "urn:gemello:negotiation:x", "--partner", "unibo", *steward
    )
    assert missing.returncode == 1
    assert "no negotiation" in missing.stderr
    listed = gemello(home, "approvals", "list", "--partner", "unibo")
    assert listed.returncode == 0, listed.stderr


async def test_a_recipient_that_is_no_member_is_refused_with_a_hint(
    home: Path, client: object, tmp_path: Path, user_tokens: dict[Role, str]
) -> None:
    """Issue 24, item 10: `"recipient": "unibo"` (a handle, not a participant id) was accepted
    and then denied every request. Now the policy is refused, with the id it probably meant."""
    del client
    from tests.clirun import gemello

    def policy_for(recipient: str) -> Path:
        file = tmp_path / f"{recipient.rsplit(':', 1)[-1]}.json"
        constraint = {"leftOperand": "recipient", "operator": "eq", "rightOperand": recipient}
        file.write_text(
            json.dumps(
                {
                    "@id": "urn:gemello:unibo:policy:bikes-for-one",
                    "permission": [{"action": "read", "constraint": [constraint]}],
                }
            )
        )
        return file

    steward = ("--partner", "unibo", "--token", user_tokens[Role.steward])
    handle = gemello(home, "policy", "set", "bike-counters", str(policy_for("unibo")), *steward)
    assert handle.returncode == 1
    assert (
        "recipient 'unibo' is not a member of the dataspace; did you mean "
        "'urn:gemello:bologna:unibo'?" in handle.stderr
    )
    typo = gemello(
        home, "policy", "set", "bike-counters", str(policy_for("urn:gemello:bologna:unbo")),
        *steward,
    )  # fmt: skip
    assert typo.returncode == 1
    assert "did you mean 'urn:gemello:bologna:unibo'?" in typo.stderr
    right = gemello(
        home, "policy", "set", "bike-counters", str(policy_for("urn:gemello:bologna:unibo")),
        *steward,
    )  # fmt: skip
    assert right.returncode == 0, right.stderr

"""Every connector's API against its own OpenAPI, fuzzed with schemathesis (every check).

A real connector (unibo, its own data dir) serves over HTTP on loopback; schemathesis reads its
`/openapi.json` and sends bounded, generated requests to every operation as an admin, a
steward, a researcher and an auditor, checking each response: no server error, a documented
status, the documented content type and headers, a body that fits the schema.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from connector.app import create_app
from connector.identity.schemas import Role
from connector.settings import Settings

pytestmark = pytest.mark.e2e
EXAMPLES = 4
# A schema cannot state every rule: a proof for a log size the log has not reached, an area
# name no area has, a model that is not installed. Such requests are refused with a documented
# 400 or 422 problem; they are still checked against the rest (documented status, content type,
# schema). Everything else is schemathesis's default.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "400", "401", "403", "404", "409", "422", "502"]
            }
        }
    }
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[Role, str]]]:
    """unibo's connector on a free loopback port, and a token per role."""
    import shutil

    from connector.dataspace import establish_trust
    from connector.identity import service as users
    from connector.partnerdata.prepare import prepare_partner_data
    from connector.settings import load_settings, source_root
    from connector.storage import migrated_session

    home = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(source_root() / "deploy", home / "deploy")
    all_settings = [load_settings(p, home) for p in ("comune", "cineca", "unibo", "fbk")]
    establish_trust(home, all_settings)
    port = _free_port()
    s: Settings = load_settings("unibo", home, port=port, catalog_refresh_seconds=0)
    prepare_partner_data(s.partner, s.resolved_data_dir, s.bologna_dir, s.synthetic_seed)
    with migrated_session(s.db_url) as session:
        tokens = {role: users.add_user(session, f"fuzz-{role.value}", role).token for role in Role}
    server = uvicorn.Server(
        uvicorn.Config(create_app(s), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the connector did not get ready"
        time.sleep(0.2)
    yield url, tokens
    server.should_exit = True
    thread.join(30)


def _fuzz(url: str, token: str) -> list[str]:
    """Every operation of the connector's OpenAPI, EXAMPLES generated cases each, every check;
    the failures, one line each."""
    from hypothesis import given
    from schemathesis.checks import CHECKS

    api = schemathesis.openapi.from_url(url + "/openapi.json", config=CONFIG)
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS.get_all()
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried, all listed
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.label}: {' | '.join(first[:40])}")
    return failures


@pytest.mark.parametrize("role", [Role.admin, Role.steward, Role.researcher, Role.auditor])
def test_every_operation_conforms_to_the_openapi(
    served: tuple[str, dict[Role, str]], role: Role
) -> None:
    url, tokens = served
    failures = _fuzz(url, tokens[role])
    assert not failures, "\n".join(failures)


def test_the_four_connectors_serve_one_api() -> None:
    """The fuzzed connector stands for all four: their OpenAPI documents differ only in the
    title (the partner's name)."""
    from connector.settings import load_settings, source_root

    docs = {}
    for partner in ("comune", "cineca", "unibo", "fbk"):
        doc = create_app(load_settings(partner, source_root())).openapi()
        doc["info"].pop("title")
        docs[partner] = doc
    assert all(doc == docs["unibo"] for doc in docs.values())
    # and what issue 24 fixed is in it: errors are problems, statuses documented
    jobs = docs["unibo"]["paths"]["/jobs"]["post"]["responses"]
    assert set(jobs) >= {"202", "400", "401", "403", "404", "422"}
    assert list(jobs["422"]["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in docs["unibo"]["components"]["schemas"]

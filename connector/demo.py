"""`gemello demo`: the four partners started on loopback, every part of Gemello shown at work."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from connector.federation import (
    federation,
)
from connector.settings import Settings, default_home

DEMO_USER = "demo-researcher"
DEMO_PLANNER = "demo-planner"  # signs in to the web console of a kept-running demo


def _summary(home_url: str, token: str, client: httpx.Client) -> tuple[Table, bool]:
    """Ask the home connector for the federation's datasets; it asks each member, signed."""
    resp = client.get(
        f"{home_url}/federation/datasets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    fed = resp.raise_for_status().json()
    table = Table(title="Gemello — Bologna data space (local federation)")
    table.add_column("partner")
    table.add_column("organisation")
    table.add_column("URL", no_wrap=True)
    table.add_column("signed call")
    table.add_column("datasets", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("synthetic (generated) datasets")
    all_ok = True
    for m in fed["members"]:
        page = m["page"] or {"datasets": [], "total_rows": 0}
        synthetic = [d["id"] for d in page["datasets"] if d["synthetic"]]
        ok = m["status"] == "ok"
        all_ok &= ok
        table.add_row(
            m["partner"],
            m["legal_name"],
            m["connector_url"],
            "[green]✓ accepted[/]" if ok else f"[red]{m['status']}: {m['detail']}[/]",
            str(len(page["datasets"])),
            f"{page['total_rows']:,}",
            ", ".join(synthetic) or "—",
        )
    return table, all_ok


def _catalogue(home_url: str, token: str, client: httpx.Client) -> tuple[Table, bool]:
    """Refresh the home connector's federated catalogue over DSP, then search it by theme."""
    auth = {"Authorization": f"Bearer {token}"}
    crawl = client.post(f"{home_url}/federation/catalog/refresh", headers=auth, timeout=60)
    reports = {r["partner"]: r for r in crawl.raise_for_status().json()}
    table = Table(title="Federated catalogue (DCAT-AP 3 over the Dataspace Protocol)")
    table.add_column("partner")
    table.add_column("crawl")
    for theme in ("TRAN", "ENER", "ENVI", "REGI", "SOCI"):
        table.add_column(theme, justify="right")
    table.add_column("privacy classes")
    counts: dict[str, dict[str, int]] = {p: {} for p in reports}
    classes: dict[str, set[str]] = {p: set() for p in reports}
    found = client.get(
        f"{home_url}/federation/catalog", params={"per_page": 500}, headers=auth, timeout=30
    )
    for entry in found.raise_for_status().json()["results"]:
        for theme in entry["themes"]:
            counts[entry["partner"]][theme] = counts[entry["partner"]].get(theme, 0) + 1
        classes[entry["partner"]].add(entry["privacy_class"])
    for partner, report in reports.items():
        ok = report["status"] == "ok"
        table.add_row(
            partner,
            f"[green]✓ {report['received']} datasets[/]" if ok else f"[red]{report['status']}[/]",
            *(str(counts[partner].get(t, 0)) for t in ("TRAN", "ENER", "ENVI", "REGI", "SOCI")),
            ", ".join(sorted(classes[partner])),
        )
    return table, all(r["status"] == "ok" for r in reports.values())


def _await_state(
    client: httpx.Client, url: str, auth: dict[str, str], states: set[str], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(url, headers=auth, timeout=10).raise_for_status().json()
        if body["state"] in states or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _negotiate(
    home_url: str,
    auth: dict[str, str],
    client: httpx.Client,
    partner: str,
    dataset: str,
    purpose: str,
) -> dict[str, Any]:
    """Ask the home connector for an agreement and wait until the negotiation ends."""
    body = {"partner": partner, "dataset": dataset, "purpose": purpose}
    started = (
        client.post(f"{home_url}/contracts/negotiations", json=body, headers=auth, timeout=30)
        .raise_for_status()
        .json()
    )
    return _await_state(
        client,
        f"{home_url}/contracts/negotiations/{started['id']}",
        auth,
        {"FINALIZED", "TERMINATED"},
    )


def _contracts(home_url: str, token: str, client: httpx.Client) -> tuple[Table, bool]:
    """Negotiate two agreements over DSP (one the provider's policy refuses), then pull the
    agreed dataset with a short-lived token and complete the transfer."""
    auth = {"Authorization": f"Bearer {token}"}
    table = Table(title="Contracts (ODRL policies in Rego, DSP negotiation and transfer)")
    for column in ("provider", "dataset", "purpose", "negotiation", "transfer"):
        table.add_column(column, overflow="fold")
    ok = True
    for partner, dataset, purpose, expected in (
        ("cineca", "rainfall-daily", "research", "FINALIZED"),
        ("unibo", "wifi-od-flows", "commercial", "TERMINATED"),
    ):
        neg = _negotiate(home_url, auth, client, partner, dataset, purpose)
        ok &= neg["state"] == expected
        shown = (
            "[green]✓ agreed, signed[/]"
            if neg["state"] == "FINALIZED"
            else (f"[yellow]refused:[/] {escape(neg['reason'])}")
        )
        transfer = "—"
        if neg["state"] == "FINALIZED":
            transfer, pulled = _pull(home_url, auth, client, neg["agreement_id"])
            ok &= pulled
        table.add_row(partner, dataset, purpose, shown, transfer)
    return table, ok


def _privacy(home_url: str, token: str, client: httpx.Client, console: Console) -> bool:
    """Agree on fbk's trips (personal data: aggregates only), ask two DP aggregates through the
    home connector, and show one refusal."""
    from connector.terminal import show_answer

    auth = {"Authorization": f"Bearer {token}"}
    neg = _negotiate(home_url, auth, client, "fbk", "trips", "research")
    if neg["state"] != "FINALIZED":
        console.print(f"[red]no agreement on fbk's trips: {escape(neg['reason'])}[/]")
        return False
    ok = True
    console.print(
        "[bold]Differentially private queries on fbk's trips (synthetic personal data)[/]"
    )
    for query in (
        {"aggregate": "mean", "column": "distance_km", "group_by": ["mode"], "epsilon": 0.5},
        {
            "aggregate": "count",
            "group_by": ["hour"],
            "filters": [{"dimension": "mode", "values": ["bike"]}],
            "epsilon": 0.3,
        },
    ):
        resp = client.post(
            f"{home_url}/privacy/queries",
            json={"agreement_id": neg["agreement_id"], "query": {"dataset": "trips", **query}},
            headers=auth,
            timeout=60,
        )
        ok &= resp.status_code == 200
        if resp.status_code == 200:
            show_answer(resp.json(), console)
        else:
            console.print(f"[red]{resp.status_code}: {escape(resp.text[:300])}[/]")
    refused = client.post(
        f"{home_url}/privacy/queries",
        json={
            "agreement_id": neg["agreement_id"],
            "query": {
                "dataset": "trips",
                "aggregate": "mean",
                "column": "person_id",
                "epsilon": 0.1,
            },
        },
        headers=auth,
        timeout=30,
    )
    ok &= refused.status_code == 422
    console.print(f"A query on person_id is refused: [yellow]{escape(refused.json()['detail'])}[/]")
    return ok


def _federated_runs(
    home_url: str,
    token: str,
    client: httpx.Client,
    console: Console,
    reports: Path,
    real_streets: bool,
) -> bool:
    """Run every installed model across the federation on its example scenario (baseline and
    scenario each), show each holder's progress and the headline figures, and save the HTML
    reports. On synthetic tables (no shared data) an example's synthetic variant runs: e.g.
    the tram works close lanes on Bologna's streets, which a synthetic road graph does not
    have."""
    from connector.terminal import follow, show_summary
    from models.registry import EXAMPLES

    auth = {"Authorization": f"Bearer {token}"}
    reports.mkdir(parents=True, exist_ok=True)
    ok = True
    for model, example in EXAMPLES.items():
        shown = example.for_data(real_streets)
        what, params = shown.what, dict(shown.params)
        console.print(f"[bold]{model}[/]: {what}")
        started = client.post(
            f"{home_url}/jobs",
            json={"model": model, "params": params, "purpose": "research"},
            headers=auth,
            timeout=60,
        )
        if started.status_code != 202:
            console.print(f"[red]{started.status_code}: {escape(started.text[:300])}[/]")
            ok = False
            continue
        job = follow(home_url, auth, started.json()["id"], console)
        show_summary(job, console)
        ok &= job["state"] == "succeeded"
        page = client.get(f"{home_url}/jobs/{job['id']}/report", headers=auth, timeout=60)
        (reports / f"{model}.html").write_text(page.text)
    console.print(f"Reports (plots, holders, W3C PROV provenance): {reports}")
    return ok


def _await_witnesses(settings: list[Settings], console: Console, timeout_s: float) -> bool:
    """Members co-sign each other's log heads in the background, every
    `audit_witness_seconds`: wait until each log, as it stands now, is co-signed by every other
    member (so the table shows the logs witnessed, however fast the runs above were). False
    when that did not happen in `timeout_s`."""
    from connector.audit import repository as store
    from connector.terminal import audit_unit, witnessed_heads

    grown_to: dict[str, int] = {}
    for s in settings:
        with audit_unit(s) as session:
            grown_to[s.partner] = store.size(session)
    others = len(settings) - 1
    deadline = time.monotonic() + timeout_s
    with console.status("the members co-sign each other's audit log heads ..."):
        while time.monotonic() < deadline:
            if all(
                len({h["witness"] for h in witnessed_heads(p, settings) if h["size"] >= n})
                >= others
                for p, n in grown_to.items()
            ):
                return True
            time.sleep(0.5)
    return False


def _audit_table(settings: list[Settings]) -> tuple[Table, bool]:
    """Every connector's audit log, replayed and checked as `gemello audit verify` does."""
    from connector.audit import service
    from connector.terminal import audit_unit, log_keys, witnessed_heads

    table = Table(title="Audit logs (RFC 9162 Merkle trees, replayed now)")
    for column in ("partner", "entries", "checkpoints", "witnessed heads", "verified"):
        table.add_column(column)
    ok = True
    for s in settings:
        log_id, keys = log_keys(s)
        heads = witnessed_heads(s.partner, settings)
        with audit_unit(s) as session:
            report = service.verify(session, log_id, keys, heads)
        ok &= report.ok
        table.add_row(
            s.partner,
            f"{report.entries:,}",
            str(report.checkpoints),
            str(report.witnessed),
            "[green]✓ intact[/]" if report.ok else f"[red]✗ {escape(report.problems[0])}[/]",
        )
    return table, ok


def _pull(
    home_url: str, auth: dict[str, str], client: httpx.Client, agreement_id: str
) -> tuple[str, bool]:
    import io

    import pyarrow.parquet as pq

    made = (
        client.post(
            f"{home_url}/contracts/transfers",
            json={"agreement_id": agreement_id},
            headers=auth,
            timeout=30,
        )
        .raise_for_status()
        .json()
    )
    url = f"{home_url}/contracts/transfers/{made['id']}"
    started = _await_state(client, url, auth, {"STARTED", "TERMINATED"})
    if started["state"] != "STARTED":
        return f"[red]{started['state']}: {escape(started['reason'])}[/]", False
    address = started["data_address"]
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    data = client.get(
        address["endpoint"], headers={"Authorization": props["authorization"]}, timeout=60
    ).raise_for_status()
    rows = pq.read_table(io.BytesIO(data.content)).num_rows
    client.post(f"{url}/complete", headers=auth, timeout=10).raise_for_status()
    return (
        f"[green]✓ pulled {rows:,} rows[/] (token valid until {props['expiresAt'][11:19]} UTC)",
        True,
    )


def demo_token(
    settings: Settings, user: str = DEMO_USER, label: str = "demo run"
) -> tuple[str, str]:
    """A fresh API token for a demo researcher (by default the one the run acts as, on the
    home connector): (token, token id)."""
    from connector.errors import Conflict
    from connector.identity import service as users
    from connector.identity.schemas import Role
    from connector.storage import migrated_session

    with migrated_session(settings.db_url) as session:
        try:
            issued = users.add_user(session, user, Role.researcher, label)
        except Conflict:
            issued = users.issue_token(session, user, label)
    return issued.token, issued.token_id


def revoke_demo_token(settings: Settings, token_id: str) -> None:
    """The demo's token is only good for one run."""
    from connector.identity import service as users
    from connector.storage import migrated_session

    with migrated_session(settings.db_url) as session:
        users.revoke_token(session, token_id)


# The demo's connectors sign checkpoints and co-sign each other's every 2 s (10 s by default),
# so its audit table shows every log witnessed a moment after the runs, not 20 s later.
DEMO_PACE = {"GEMELLO_AUDIT_CHECKPOINT_SECONDS": "2", "GEMELLO_AUDIT_WITNESS_SECONDS": "2"}


def _raise_interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# What a fresh demo run empties, in words and tables: every record of what the connectors did.
# Users with their tokens and stewards' policies are kept (a user may have been added in
# another shell while the demo starts), unless `--reset-all`; keys and tables always are.
RUN_STATE: dict[str, tuple[str, ...]] = {
    "privacy budgets, charges, raises and resets": (
        "budget_adjustment", "epsilon_charge", "epsilon_budget",
    ),
    "negotiations, agreements, blocks and transfers": (
        "dsp_outbox", "transfer_process", "agreement_block", "contract_agreement",
        "contract_negotiation",
    ),
    "policy decisions": ("decision_record",),
    "federated jobs and model runs": ("federated_job", "compute_run"),
    "audit logs (restarted empty, on every member at once)": (
        "audit_witness", "audit_checkpoint", "audit_node", "audit_queue", "audit_entry",
    ),
    "federated catalogue index": ("federated_entry", "federated_source"),
    "seen connector tokens": ("seen_assertion",),
    "questions asked, runs shared and results published from the console": (
        "asked_query", "run_share", "received_run", "published_result",
    ),
}  # fmt: skip
PEOPLE_AND_POLICIES: dict[str, tuple[str, ...]] = {
    "users and their tokens": ("api_token", "user_account"),
    "stewards' policies, their history and test cases": (
        "usage_policy",
        "policy_revision",
        "policy_cases",
    ),
}


def demo_databases(home: Path, settings: list[Settings]) -> list[Settings]:
    """The partners whose database is the demo's own: a SQLite file inside this home's `var/`
    (PostgreSQL, or a file elsewhere, is never touched)."""
    var = (home / "var").resolve()
    own = []
    for s in settings:
        url = make_url(s.db_url)
        if url.drivername.startswith("sqlite") and url.database:
            if Path(url.database).resolve().is_relative_to(var):
                own.append(s)
    return own


def fresh_start(
    home: Path, settings: list[Settings], everything: bool = False
) -> dict[str, dict[str, int]]:
    """Empty what a demo run records, on every partner whose database is the demo's own, so a
    run starts like the first one (privacy budgets are finite by design: a second run on the
    same ledgers would find fbk's trips budget spent by the first). Returns, per kind of
    record, the rows deleted per partner. A partner whose connector is running is refused
    (ConfigError): stop it first."""
    from connector.audit.repository import restart
    from connector.settings import ConfigError
    from connector.storage import open_database
    from connector.storage.engine import empty_tables
    from connector.system.running import running

    kinds = RUN_STATE | (PEOPLE_AND_POLICIES if everything else {})
    own = demo_databases(home, settings)
    for s in own:
        server = running(s)
        if server is not None:
            raise ConfigError(
                f"the {s.partner} connector is running (pid {server.pid}): stop it before a "
                "demo run that starts afresh, or pass --keep-state"
            )
    report: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    for s in own:
        engine = open_database(s.db_url)
        try:
            counts = empty_tables(
                engine, [t for tables in kinds.values() for t in tables], then=restart
            )
        finally:
            engine.dispose()
        for kind, tables in kinds.items():
            report[kind][s.partner] = sum(counts[t] for t in tables)
    return report


def describe_fresh_start(report: dict[str, dict[str, int]], everything: bool) -> str:
    """What `fresh_start` emptied, exactly, and what it kept."""
    done = [
        f"{kind} ({sum(per.values()):,} records)"
        for kind, per in report.items()
        if sum(per.values())
    ]
    kept = "keys and tables" if everything else "users and their tokens, stewards' policies, keys"
    kept += "" if everything else " and tables"
    if not done:
        return ""
    return (
        "A fresh start: emptied " + "; ".join(done) + f". Kept: {kept}. "
        "`--keep-state` continues from the last run instead"
        + ("" if everything else ", `--reset-all` empties users and policies too")
        + "."
    )


def run_demo(
    home: Path | None,
    keep_running: bool,
    urls_file: Path | None,
    console: Console,
    keep_state: bool = False,
    reset_all: bool = False,
) -> int:
    """Init, start, summarise, and (unless asked to keep running) stop. Returns an exit code."""
    from connector.dataspace import init_dataspace

    home = (home or default_home()).resolve()
    settings = init_dataspace(home)
    if not keep_state:
        said = describe_fresh_start(fresh_start(home, settings, reset_all), reset_all)
        if said:
            console.print(said)
    gateway = settings[0]  # the comune's connector answers the researcher
    token, token_id = demo_token(gateway)
    kept: list[tuple[Settings, str]] = []  # tokens handed out while the demo keeps running
    # A SIGTERM to the demo must clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with federation(home, settings, DEMO_PACE) as conns, httpx.Client() as client:
            table, all_ok = _summary(conns[0].url, token, client)
            console.print(table)
            console.print(
                f"{gateway.partner} asked every member over HTTP with a short-lived "
                "Ed25519-signed token (RFC 7523); each checked it against the signed trust list."
            )
            if not all_ok:
                console.print("[bold red]some members refused or did not answer[/]")
                return 1
            catalogue, all_ok = _catalogue(conns[0].url, token, client)
            console.print(catalogue)
            shapes = (
                "the official DCAT-AP 3.0.1 and Gemello's own"
                if gateway.official_shapes
                else ("Gemello's (official DCAT-AP shapes not found)")
            )
            console.print(
                f"Each entry passed {shapes} SHACL shapes before it was published; "
                "search it with `gemello catalog search --theme TRAN`."
            )
            if not all_ok:
                console.print("[bold red]some catalogues could not be crawled[/]")
                return 1
            contracts, all_ok = _contracts(conns[0].url, token, client)
            console.print(contracts)
            console.print(
                "Every decision is recorded (GET /decisions); stewards approve with "
                "`gemello approvals` and revoke with `gemello agreements revoke`."
            )
            if not all_ok:
                console.print("[bold red]a negotiation or transfer did not end as expected[/]")
                return 1
            if not _privacy(conns[0].url, token, client, console):
                console.print("[bold red]a differentially private query failed[/]")
                return 1
            console.print(
                "Each answer spent epsilon from the comune's budget on fbk's trips; fbk's steward "
                "reads the ledger with `gemello budget show --partner fbk`."
            )
            console.print(
                "[bold]Federated model runs[/] — each stage runs where its data is; only "
                "signed aggregates travel"
            )
            reports = home / "var" / "reports"
            real = settings[0].bologna_dir is not None
            if not _federated_runs(conns[0].url, token, client, console, reports, real):
                console.print("[bold red]a federated model run did not succeed[/]")
                return 1
            wait_s = 3 * max(float(DEMO_PACE[k]) for k in DEMO_PACE)
            if wait_s and not _await_witnesses(settings, console, wait_s):
                console.print(f"[yellow]not every log was co-signed within {wait_s:g} s[/]")
            audit, all_ok = _audit_table(settings)
            console.print(audit)
            console.print(
                "Every decision, charge, contract step and model run above is an entry: check a "
                "log with `gemello audit verify --partner fbk`, read it with `gemello audit tail`."
            )
            if not all_ok:
                console.print("[bold red]an audit log does not verify[/]")
                return 1
            bologna = settings[0].bologna_dir
            console.print(
                "Real data: "
                + (f"{bologna}" if bologna else "shared/ not found — every table is synthetic")
            )
            if bologna:  # the licence asks for the attribution wherever its data is shown
                console.print(
                    "Fonte: Comune di Bologna – opendata.comune.bologna.it, CC BY 4.0; "
                    "ARPAE Emilia-Romagna."
                )
            urls = json.dumps({c.settings.partner: c.url for c in conns}, indent=2)
            if urls_file is not None and not keep_running:
                urls_file.write_text(urls)
            if keep_running:
                for c in conns:
                    if not c.url.endswith(f":{c.settings.port}"):
                        console.print(
                            f"[yellow]{c.settings.partner} listens on {c.url}, not on its "
                            f"configured port {c.settings.port} (taken); commands find it "
                            "on the trust list (`gemello dataspace status`)[/]"
                        )
                unibo = next(c for c in conns if c.settings.partner == "unibo")
                planner, planner_id = demo_token(unibo.settings, DEMO_PLANNER, "demo console")
                kept.append((unibo.settings, planner_id))
                console.print(
                    f"Web console: {unibo.url}/console — sign in as the demo planner with "
                    f"{planner} (revoked when the demo stops).",
                    soft_wrap=True,  # one line: the token must stay whole to be copied
                )
                console.print("Connectors are up (API docs at <URL>/docs). Ctrl-C stops them.")
                if urls_file is not None:  # last: whoever waits for it finds everything ready
                    urls_file.write_text(urls)
                while all(c.process.poll() is None for c in conns):
                    time.sleep(0.5)
                console.print("[red]a connector stopped unexpectedly[/]")
                return 1
    except KeyboardInterrupt:
        console.print("stopping connectors…")
    except (RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        revoke_demo_token(gateway, token_id)
        for where, kept_id in kept:
            revoke_demo_token(where, kept_id)
    return 0

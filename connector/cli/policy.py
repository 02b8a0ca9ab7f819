"""`gemello policy ...`: test, explain and bundle usage policies from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.kit import HomeOpt, PartnerOpt, TokenOpt, act_as, err, fail, out, settings_for

policy_app = typer.Typer(
    help="Usage policies (ODRL 2.2, Gemello profile) and their Rego.", no_args_is_help=True
)

BACKENDS = ("regopy", "opa-engine", "opa")


def _read(file: Path) -> object:
    try:
        return json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None


def _target(dataset: str) -> str:
    return f"urn:gemello:test:dataset:{dataset}"


@policy_app.command("test")
def run_table(
    directory: Annotated[
        Path, typer.Argument(help="folder with policies/<dataset>.json and cases.toml")
    ],
    backend: Annotated[
        str, typer.Option(help="regopy or opa-engine (in process), or opa (a server)")
    ] = "regopy",
    opa_url: Annotated[str, typer.Option(help="OPA server, for --backend opa")] = (
        "http://127.0.0.1:8181"
    ),
) -> None:
    """Run a table of cases (request -> expected decision); exit 1 if any case fails."""
    from policy import make_pdp
    from policy.odrl import PolicyInvalid
    from policy.pdp import PolicyCompileError
    from policy.testing import run_cases

    if backend not in BACKENDS:
        raise fail(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
    try:
        pdp = make_pdp(backend, url=opa_url) if backend == "opa" else make_pdp(backend)
        results = run_cases(directory, pdp, _target)
    except (PolicyInvalid, PolicyCompileError) as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"Policy cases in {directory} ({backend})")
    for col in ("", "case", "expected", "decision", "reasons"):
        table.add_column(col, overflow="fold")
    for r in results:
        mark = "[green]✓[/]" if r.passed else "[bold red]✗[/]"
        got = "allow" if r.decision.allow else "deny"
        table.add_row(mark, r.name, r.expected, got, escape("\n".join(r.decision.reasons)))
    out.print(table)
    failed = [r for r in results if not r.passed]
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@policy_app.command("explain")
def explain(
    source: Annotated[
        str, typer.Argument(help="an ODRL policy file (JSON), or a dataset id of this connector")
    ],
    partner: Annotated[str | None, typer.Option(help="partner, for a dataset id")] = None,
    home: HomeOpt = None,
) -> None:
    """Print a policy in plain language (after checking it against the profile)."""
    from policy.compiler import describe
    from policy.odrl import PolicyInvalid, parse_policy

    file = Path(source)
    if file.suffix == ".json" or file.exists():
        document, target = _read(file), None
    else:
        document, target = _stored_policy(source, partner, home)
    try:
        policy = parse_policy(document)
    except PolicyInvalid as exc:
        for e in exc.errors:
            out.print(f"[red]✗[/] {e}")
        raise typer.Exit(1) from None
    first, *rest = describe(policy, target)
    out.print(f"[bold]{escape(first)}[/]")
    for line in rest:
        out.print(f"  {escape(line)}")


@policy_app.command("rego")
def rego(
    file: Annotated[Path, typer.Argument(help="an ODRL policy (JSON)")],
    target: Annotated[str, typer.Option(help="the dataset IRI, if the policy has no target")] = (
        "urn:gemello:example:dataset"
    ),
) -> None:
    """Print the Rego module a policy compiles to."""
    from policy.compiler import compile_policy
    from policy.odrl import PolicyInvalid, parse_policy

    try:
        policy = parse_policy(_read(file))
    except PolicyInvalid as exc:
        raise fail("; ".join(exc.errors)) from None
    typer.echo(compile_policy(policy, policy.target or target).source)


@policy_app.command("bundle")
def bundle(
    directory: Annotated[Path, typer.Argument(help="folder with policies/<dataset>.json")],
    output: Annotated[Path, typer.Option(help="where to write the OPA bundle")] = Path("bundle"),
) -> None:
    """Write the OPA bundle layout (modules + .manifest) for an OPA sidecar to load."""
    from policy.odrl import PolicyInvalid
    from policy.testing import load_policies

    try:
        policies = load_policies(directory, _target)
    except PolicyInvalid as exc:
        raise fail(str(exc)) from None
    policies.write_bundle(output)
    out.print(f"[green]✓[/] bundle revision {policies.revision} written to {output}")


# --- a connector's stored policies ---------------------------------------------------------------


def _stored_policy(dataset: str, partner: str | None, home: Path | None) -> tuple[object, str]:
    from connector.errors import GemelloError
    from connector.policies.service import get_policy
    from connector.runtime import connector_for
    from connector.storage import session_scope

    if partner is None:
        raise fail(f"'{dataset}' is not a file; name the connector with --partner to read a policy")
    with connector_for(settings_for(partner, home)) as conn, session_scope(conn.engine) as session:
        try:
            view = get_policy(session, conn.policies.publisher, dataset)
        except GemelloError as exc:
            raise fail(exc.detail, 1) from None
    return view.document, view.target


@policy_app.command("set")
def set_policy(
    dataset: Annotated[str, typer.Argument(help="dataset id on this connector")],
    file: Annotated[Path, typer.Argument(help="the ODRL policy (JSON)")],
    partner: PartnerOpt,
    token: TokenOpt = None,
    home: HomeOpt = None,
) -> None:
    """Set a dataset's usage policy, as the steward whose API token is given.

    The policy is checked against the Gemello profile; the server applies it at its next
    decision."""
    from connector.errors import GemelloError, PolicyRejected
    from connector.policies.service import set_policy as store
    from connector.runtime import connector_for
    from connector.storage import session_scope

    settings = settings_for(partner, home)
    by = act_as(settings, token, "steward", "admin")
    document = _read(file)
    with connector_for(settings) as conn:
        try:
            with session_scope(conn.engine, write=True) as session:
                members = {h: m.participant_id for h, m in conn.contracts.trust().by_handle.items()}
                view = store(session, conn.policies.publisher, dataset, document, by, members)
        except PolicyRejected as exc:
            for e in exc.extensions.get("errors", []):
                err.print(f"[red]✗[/] {e}")
            raise typer.Exit(1) from None
        except GemelloError as exc:
            raise fail(exc.detail, 1) from None
    out.print(f"[green]✓[/] {dataset}: policy {view.document['@id']} version {view.version}")


@policy_app.command("show")
def show_policy(
    dataset: Annotated[str, typer.Argument(help="dataset id on this connector")],
    partner: PartnerOpt,
    home: HomeOpt = None,
) -> None:
    """Print the ODRL policy in force for a dataset (a steward's or the default offer)."""
    document, _target = _stored_policy(dataset, partner, home)
    typer.echo(json.dumps(document, indent=2))


@policy_app.command("check")
def check(
    dataset: Annotated[str, typer.Option(help="dataset id on this connector")],
    partner: PartnerOpt,
    action: Annotated[str, typer.Option(help="use, read, aggregate or compute")],
    org: Annotated[str | None, typer.Option(help="recipient participant id")] = None,
    role: Annotated[str | None, typer.Option(help="recipient role")] = None,
    purpose: Annotated[str | None, typer.Option(help="purpose of use")] = None,
    at: Annotated[str | None, typer.Option(help="ISO time with zone (default: now)")] = None,
    home: HomeOpt = None,
) -> None:
    """Ask the PDP about one request and print the decision with its reasons (recorded)."""
    from connector.errors import GemelloError
    from connector.policies.service import get_policy
    from connector.runtime import connector_for
    from connector.storage import session_scope
    from connector.storage.tables import utcnow
    from policy.odrl import parse_time
    from policy.request import UsageRequest

    try:
        moment = parse_time(at) if at else utcnow()
    except ValueError as exc:
        raise fail(f"--at: {exc}") from None
    with connector_for(settings_for(partner, home)) as conn:
        try:
            with session_scope(conn.engine, write=True) as session:
                view = get_policy(session, conn.policies.publisher, dataset)
                request = UsageRequest(view.target, action, moment, purpose, org, role)
                decision = conn.policies.decide(
                    session, request, context="check", organisation=org or ""
                )
        except GemelloError as exc:
            raise fail(exc.detail, 1) from None
    verdict = "[bold green]ALLOW[/]" if decision.allow else "[bold red]DENY[/]"
    out.print(f"{verdict} {action} on {dataset}  (decision {decision.decision_id})")
    for reason in decision.reasons:
        out.print(f"  • {escape(reason)}")
    for duty in decision.obligations:
        out.print(f"  obligation: {escape(str(duty.get('text', duty)))}")
    raise typer.Exit(0 if decision.allow else 3)

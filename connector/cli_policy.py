"""`gemello policy ...`: test, explain and bundle usage policies from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connector.clikit import fail, out

policy_app = typer.Typer(
    help="Usage policies (ODRL 2.2, Gemello profile) and their Rego.", no_args_is_help=True
)

BACKENDS = ("regopy", "opa")


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
    backend: Annotated[str, typer.Option(help="regopy (in process) or opa")] = "regopy",
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
        table.add_row(mark, r.name, r.expected, got, "\n".join(r.decision.reasons))
    out.print(table)
    failed = [r for r in results if not r.passed]
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@policy_app.command("explain")
def explain(
    file: Annotated[Path, typer.Argument(help="an ODRL policy (JSON)")],
) -> None:
    """Print a policy in plain language (after checking it against the profile)."""
    from policy.compiler import compile_policy
    from policy.odrl import PolicyInvalid, parse_policy

    document = _read(file)
    try:
        policy = parse_policy(document)
    except PolicyInvalid as exc:
        for e in exc.errors:
            out.print(f"[red]✗[/] {e}")
        raise typer.Exit(1) from None
    target = policy.target or "(the dataset it is attached to)"
    compiled = compile_policy(policy, target)
    out.print(f"[bold]{policy.uid}[/] on {target}")
    for rule in compiled.rules:
        out.print(f"  • {rule.text}")
    if any(r.kind == "prohibition" for r in compiled.rules):
        out.print("  Prohibitions always win over permissions.")
    out.print("  Anything not permitted is denied.")


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

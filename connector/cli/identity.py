"""Command line for identity: the trust list, key rotation, users and their API tokens."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.cli.kit import (
    HomeOpt,
    JsonOpt,
    PartnerOpt,
    err,
    fail,
    out,
    partner_session,
    print_json,
    settings_for,
    show_records,
    unique_prefix,
)
from connector.identity.roles import Role

dataspace_app = typer.Typer(
    help="Show and change the signed dataspace trust list.", no_args_is_help=True
)
keys_app = typer.Typer(help="A partner's signing keys.", no_args_is_help=True)
user_app = typer.Typer(help="Local users of a partner's connector.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of local users.", no_args_is_help=True)


def _home(home: Path | None) -> Path:
    from connector.settings import default_home

    return (home or default_home()).resolve()


# --- dataspace ---------------------------------------------------------------------------------


@dataspace_app.command("show")
def dataspace_show(as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Verify the trust list's signature and list the members (exit 1 if it does not verify)."""
    from connector.identity.trustlist import (
        TrustListInvalid,
        TrustStore,
        load_trust_list,
        template_path,
    )
    from connector.settings import ConfigError

    h = _home(home)
    try:
        authority = settings_for(load_trust_list(template_path(h)).authority, h)
        store = TrustStore(authority.trust_list_path, authority.trust_anchor_path)
        space = store.current().space
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except TrustListInvalid as exc:
        raise fail(f"the trust list does not verify: {exc}", 1) from None
    if as_json:
        print_json(space.model_dump(mode="json"))
        return
    table = Table(title=f"{space.name} — trust list revision {space.revision} ({space.issued_at})")
    for col in ("member", "participant id", "organisation", "connector URL", "keys"):
        table.add_column(col, no_wrap=col in {"participant id", "connector URL"})
    for m in space.members:
        keys = "\n".join(k.kid + (f" (until {k.not_after})" if k.not_after else "") for k in m.keys)
        name = m.id + (" (authority)" if m.id == space.authority else "")
        table.add_row(name, m.participant_id, m.legal_name, m.connector_url, keys or "—")
    out.print(table)
    signer = space.signature.kid if space.signature else "?"
    out.print(f"[green]✓[/] signature verified with the authority key {signer}")


@dataspace_app.command("status")
def dataspace_status(
    wait: Annotated[
        float, typer.Option(help="seconds to wait until every member is ready (0: ask once)")
    ] = 0,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Ask every member's connector, at its URL on the trust list, whether it is ready.

    A member configured in this home must also be served from this home's data dir (so a
    connector of another home on the same port does not count). Exit 1 if one is not ready."""
    import time

    import httpx
    from rich.status import Status

    h = _home(home)
    deadline = time.monotonic() + wait
    with httpx.Client(timeout=3) as client, Status("asking every member …", console=err) as st:
        while True:
            rows = _member_states(h, client)
            up = sum(r["state"] == "ready" for r in rows)
            if up == len(rows) or time.monotonic() >= deadline:
                break
            st.update(f"{up} of {len(rows)} members ready; waiting …")
            time.sleep(0.5)
    show_records(
        "Members' connectors",
        [("member", "member"), ("url", "connector URL"), ("state", "state")],
        rows,
        as_json,
    )
    if up != len(rows):
        raise typer.Exit(1)


def _member_states(home: Path, client: Any) -> list[dict[str, str]]:
    """Each member of the trust list as it answers now: ready, or why not."""
    import httpx

    from connector.identity.trustlist import load_trust_list, template_path
    from connector.settings import ConfigError, load_settings
    from connector.system.running import running

    try:
        authority = settings_for(
            load_trust_list(template_path(home)).authority, home, database=False
        )
        space = load_trust_list(authority.trust_list_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    rows = []
    for m in space.members:
        row = {"member": m.id, "url": m.connector_url}
        try:
            local = load_settings(m.id, home)
        except ConfigError:
            local = None  # a member run elsewhere: its URL is all there is
        if local is not None and running(local) is None:
            row["state"] = "not started (no server on this home's data dir)"
        else:
            try:
                resp = client.get(f"{m.connector_url}/ready")
                problem = "" if resp.status_code == 200 else resp.json().get("detail", "")
                row["state"] = "ready" if resp.status_code == 200 else f"not ready: {problem}"
            except (httpx.HTTPError, ValueError) as exc:
                row["state"] = f"down ({type(exc).__name__})"
        rows.append(row)
    return rows


def _read_keys(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: not a readable JWK or JWKS JSON file ({exc})") from None
    keys = data.get("keys", [data]) if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        raise fail(f"{path}: expected a JWK object or a JWKS with 'keys'")
    return keys


@dataspace_app.command("add-member")
def add_member(
    member_id: Annotated[str, typer.Option("--id", help="short handle, e.g. 'arpae'")],
    participant_id: Annotated[str, typer.Option(help="e.g. urn:gemello:bologna:arpae")],
    name: Annotated[str, typer.Option(help="legal name of the organisation")],
    url: Annotated[str, typer.Option(help="connector base URL, e.g. https://gemello.arpae.it")],
    key: Annotated[Path, typer.Option(help="the member's public key: JWK or JWKS JSON file")],
    home: HomeOpt = None,
) -> None:
    """Add a member with its public key(s) and re-sign the trust list."""
    from pydantic import ValidationError

    from connector.dataspace import add_member as do_add
    from connector.identity.trustlist import Member, MemberKey
    from connector.settings import ConfigError, describe_validation_error

    try:
        keys = [
            MemberKey(
                kid=k.get("kid", ""),
                x=k.get("x", ""),
                kty=k.get("kty", "OKP"),
                crv=k.get("crv", "Ed25519"),
            )
            for k in _read_keys(key)
        ]
        member = Member(
            id=member_id,
            participant_id=participant_id,
            legal_name=name,
            connector_url=url,
            keys=keys,
        )
        space = do_add(_home(home), member)
    except ValidationError as exc:
        raise fail(describe_validation_error(exc)) from None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"[green]✓[/] added {member_id} ({participant_id}); trust list revision {space.revision}"
    )


@dataspace_app.command("remove-member")
def remove_member(
    member_id: Annotated[str, typer.Option("--id", help="handle of the member to remove")],
    home: HomeOpt = None,
) -> None:
    """Remove a member and re-sign; connectors refuse it from their next request on."""
    from connector.dataspace import remove_member as do_remove
    from connector.settings import ConfigError

    try:
        space = do_remove(_home(home), member_id)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    out.print(f"[green]✓[/] removed {member_id}; trust list revision {space.revision}")


# --- keys --------------------------------------------------------------------------------------


@keys_app.command("rotate")
def rotate(
    partner: PartnerOpt,
    overlap: Annotated[
        int, typer.Option(min=0, help="seconds the old key stays valid for in-flight requests")
    ] = 600,
    home: HomeOpt = None,
) -> None:
    """Add a new signing key, publish both for the overlap window, then sign with the new one."""
    from connector.identity.membership import rotate_keys
    from connector.settings import ConfigError

    settings = settings_for(partner, home)
    try:
        old, new, space = rotate_keys(_home(home), settings, timedelta(seconds=overlap))
    except ConfigError as exc:
        raise fail(str(exc)) from None
    out.print(f"[green]✓[/] {partner}: signing with {new}")
    out.print(f"  old key {old} stays valid for {overlap} s; trust list revision {space.revision}")


@keys_app.command("list")
def list_keys(partner: PartnerOpt, as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Show a partner's keys: active, retiring, and when each retires."""
    from connector.identity.keys import KeyRing

    settings = settings_for(partner, home)
    path = KeyRing.path_for(settings.resolved_data_dir)
    if not path.exists():
        raise fail(f"{partner} has no keys yet; run `gemello init`", 1)
    ring = KeyRing.load(path)
    from connector.storage.tables import utcnow

    now = utcnow()
    records = []
    for e in ring.entries:
        if e.kid == ring.active:
            state = "active"
        elif e.not_after and datetime.fromisoformat(e.not_after) > now:
            state = f"retiring, valid until {e.not_after}"
        else:
            state = f"retired at {e.not_after}"
        records.append({"kid": e.kid, "created": e.created, "state": state})
    show_records(
        f"{partner} signing keys",
        [("kid", "kid (RFC 7638 thumbprint)"), ("created", "created"), ("state", "state")],
        records,
        as_json,
    )


# --- users and tokens --------------------------------------------------------------------------


def _print_token(token: str, token_only: bool) -> None:
    if token_only:
        print(token)
        return
    out.print("API token (shown once; store it now, only its digest is kept):")
    print(token)


@user_app.command("add")
def user_add(
    partner: PartnerOpt,
    role: Annotated[Role, typer.Option(help="admin, steward, researcher or auditor")],
    name: Annotated[str, typer.Option(help="unique user name")],
    label: Annotated[str, typer.Option(help="note about the first token")] = "",
    token_only: Annotated[bool, typer.Option(help="print only the token (for scripts)")] = False,
    home: HomeOpt = None,
) -> None:
    """Create a user with a role and print their first API token once."""
    from pydantic import ValidationError

    from connector.identity import service as users
    from connector.identity.schemas import NewUser
    from connector.settings import describe_validation_error

    try:
        new = NewUser(name=name, role=role)
    except ValidationError as exc:
        raise fail(describe_validation_error(exc)) from None
    with partner_session(partner, home) as session:
        issued = users.add_user(session, new.name, new.role, label)
    if not token_only:
        out.print(
            f"[green]✓[/] {partner}: user {issued.user.name} ({issued.user.id}), "
            f"role {issued.user.role.value}, token {issued.token_id}"
        )
    _print_token(issued.token, token_only)


@user_app.command("list")
def user_list(partner: PartnerOpt, as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """List a partner's users and their active token counts."""
    from connector.identity import service as users

    with partner_session(partner, home) as session:
        rows = users.list_users(session)
    show_records(
        f"{partner} users",
        [("name", "name"), ("id", "id (pseudonym)"), ("role", "role"),
         ("active_tokens", "active tokens"), ("created_at", "created (UTC)")],
        [u.model_dump(mode="json") for u in rows],
        as_json,
    )  # fmt: skip


@token_app.command("add")
def token_add(
    partner: PartnerOpt,
    name: Annotated[str, typer.Option(help="the user who gets the token")],
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
    token_only: Annotated[bool, typer.Option(help="print only the token (for scripts)")] = False,
    home: HomeOpt = None,
) -> None:
    """Issue another API token for a user (printed once)."""
    from connector.identity import service as users

    with partner_session(partner, home) as session:
        issued = users.issue_token(session, name, label)
    if not token_only:
        out.print(f"[green]✓[/] token {issued.token_id} for {name}")
    _print_token(issued.token, token_only)


@token_app.command("list")
def token_list(
    partner: PartnerOpt,
    user: Annotated[str | None, typer.Option(help="only this user's tokens")] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """List API tokens (ids and state, never secrets)."""
    from connector.identity import service as users

    with partner_session(partner, home) as session:
        rows = users.list_tokens(session, user)
    records = [
        t.model_dump(mode="json")
        | {"state": f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"}
        for t in rows
    ]
    show_records(
        f"{partner} API tokens",
        [("id", "token id"), ("user_name", "user"), ("label", "label"),
         ("created_at", "created (UTC)"), ("state", "state")],
        records,
        as_json,
    )  # fmt: skip


@token_app.command("revoke")
def token_revoke(
    partner: PartnerOpt,
    token_id: Annotated[
        str, typer.Argument(help="id from `gemello token list`, e.g. tok_… (or its start)")
    ],
    home: HomeOpt = None,
) -> None:
    """Revoke a token; the connector refuses it from the next request on."""
    from connector.identity import service as users

    with partner_session(partner, home) as session:
        ids = [t.id for t in users.list_tokens(session, None)]
        t = users.revoke_token(session, unique_prefix(token_id, ids, "token"))
    out.print(f"[green]✓[/] {t.id} of {t.user_name} revoked")

"""Setting up a dataspace: each partner's keys and tables, the signed trust list, membership
changes and key rotation.

Operator actions: they run from the CLI (and the demo, the benchmarks, the tests) on the machine
that holds the authority's key (in the local dataspace, the comune's data directory). Each
change re-signs the list with the next revision; running connectors pick it up on their next
request. No production module imports this one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from connector import PARTNERS
from connector.identity.keys import Clock, KeyRing
from connector.identity.membership import authority_of, change_trust_list, keys_of
from connector.identity.trustlist import (
    Member,
    TrustList,
    TrustListInvalid,
    load_trust_list,
    sign,
    template_path,
    verify,
    write_trust_list,
)
from connector.settings import ConfigError, Settings, load_settings
from connector.storage.tables import utcnow

log = logging.getLogger("gemello.identity")


def establish_trust(home: Path, partners: Sequence[Settings], clock: Clock = utcnow) -> TrustList:
    """Keys for each partner, the authority key, and a signed trust list listing their keys.

    Keeps the membership of an existing list that verifies (so `init` never undoes a
    `remove-member`); starts from `deploy/dataspace.toml` otherwise. Re-signs only on change.
    """
    template = load_trust_list(template_path(home))
    authority, key = authority_of(home, template.authority)
    path = authority.trust_list_path
    current: TrustList | None = None
    if path.exists():
        try:
            current = load_trust_list(path)
            verify(current, key)
        except (ConfigError, TrustListInvalid) as exc:
            log.warning(
                "%s does not verify (%s); rebuilding it from %s", path, exc, template_path(home)
            )
            current = None
    space = (current or template).model_copy(deep=True)
    changed = current is None
    for settings in partners:
        ring = KeyRing.ensure(settings.resolved_data_dir, clock)
        member = next((m for m in space.members if m.id == settings.partner), None)
        if member is None:
            log.warning(
                "%s is not on the trust list; its connector will be refused", settings.partner
            )
            continue
        keys = keys_of(ring, clock)
        if member.keys != keys:
            member.keys = keys
            changed = True
    if not changed:
        assert current is not None
        return current
    signed = sign(space, key, clock)
    write_trust_list(signed, path)
    return signed


def add_member(home: Path, member: Member, clock: Clock = utcnow) -> TrustList:
    """Add a member (with at least one key) to the trust list."""
    if not member.keys:
        raise ConfigError(f"member '{member.id}' needs at least one public key")

    def change(space: TrustList) -> None:
        if any(
            m.id == member.id or m.participant_id == member.participant_id for m in space.members
        ):
            raise ConfigError(f"'{member.id}' ({member.participant_id}) is already a member")
        space.members.append(member)

    return change_trust_list(home, change, clock)


def remove_member(home: Path, handle: str, clock: Clock = utcnow) -> TrustList:
    """Remove a member; every connector refuses it from its next request on."""

    def change(space: TrustList) -> None:
        space.member(handle)  # ConfigError if absent
        if handle == space.authority:
            raise ConfigError(f"'{handle}' is the dataspace authority and cannot be removed")
        space.members = [m for m in space.members if m.id != handle]

    return change_trust_list(home, change, clock)


def set_member_urls(home: Path, urls: dict[str, str], clock: Clock = utcnow) -> TrustList:
    """Point members at new connector URLs (the demo's loopback ports); no-op if unchanged."""

    def change(space: TrustList) -> None:
        for handle, url in urls.items():
            space.member(handle).connector_url = url

    return change_trust_list(home, change, clock)


def prepare_partner(settings: Settings, progress: Any = None) -> None:
    """Keys and tables for one partner (idempotent)."""
    from connector.identity.keys import KeyRing
    from connector.partnerdata.prepare import prepare_partner_data

    KeyRing.ensure(settings.resolved_data_dir)
    task = progress.add_task(settings.partner, total=None) if progress else None

    def step(msg: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=msg)

    entries = prepare_partner_data(
        settings.partner,
        settings.resolved_data_dir,
        settings.bologna_dir,
        settings.synthetic_seed,
        step,
    )
    if progress is not None and task is not None:
        n = len(entries)
        progress.update(
            task,
            description=f"{settings.partner}: {n} table{'s' * (n != 1)} ready",
            total=1,
            completed=1,
        )


def init_dataspace(
    home: Path | None, partners: tuple[str, ...] = PARTNERS, quiet: bool = False
) -> list[Settings]:
    """Create each partner's data dir (keys, tables) and the signed trust list (ConfigError
    on a bad partner config)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from connector.settings import default_home

    home = (home or default_home()).resolve()
    all_settings = [load_settings(p, home) for p in partners]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    ) as progress:
        for settings in all_settings:
            prepare_partner(settings, progress)
    establish_trust(home, all_settings)
    return all_settings


# --- a larger federation for the benchmarks: synthetic cities ---------------------------------

CITY_PREFIX = "city-"


def city_handles(count: int) -> tuple[str, ...]:
    """The handles of `count` synthetic cities, numbered after the four partners."""
    first = len(PARTNERS) + 1
    return tuple(f"{CITY_PREFIX}{i:02d}" for i in range(first, first + count))


def add_synthetic_cities(
    home: Path, count: int, seed: int = 20_231, areas_everywhere: bool = False
) -> list[Settings]:
    """Make a home's dataspace larger: `count` synthetic cities join the four partners.

    Each city is a member with its own keys and settings file (`deploy/partners/city-NN.toml`)
    and a synthetic copy of every partner dataset (generated once, from `seed`, and copied: a
    city is a twin of the same shape, with no real row). With `areas_everywhere`, the partners
    that hold no statistical areas get a synthetic copy too, so that a stage on them runs at
    every member. Call it on a fresh home, before `init_dataspace` (benchmarks and tests only).
    Returns every member's settings, the partners' first.
    """
    import shutil
    import tempfile
    import tomllib

    from connector.partnerdata.prepare import (
        TABLES,
        prepare_partner_data,
        read_manifest,
        record_entry,
    )

    template = template_path(home)
    text = template.read_text()
    known = {m["id"] for m in tomllib.loads(text)["members"]}
    handles = city_handles(count)
    for i, handle in enumerate(handles, start=len(PARTNERS) + 1):
        number = handle.removeprefix(CITY_PREFIX)
        name = f"Synthetic city {number} (benchmark member, synthetic data)"
        if handle not in known:
            text += (
                f'\n[[members]]\nid = "{handle}"\n'
                f'participant_id = "urn:gemello:synthetic:{handle}"\n'
                f'legal_name = "{name}"\nconnector_url = "http://127.0.0.1:{8400 + i}"\n'
            )
        config = home / "deploy" / "partners" / f"{handle}.toml"
        config.write_text(
            f"# A synthetic member of a benchmark dataspace: generated data only.\n"
            f'partner = "{handle}"\nlegal_name = "{name}"\nhost = "127.0.0.1"\n'
            f'port = {8400 + i}\ndata_dir = "var/{handle}"\npdp_backend = "regopy"\n'
        )
    template.write_text(text)
    partners = [load_settings(p, home) for p in PARTNERS]
    cities = [load_settings(h, home) for h in handles]
    missing = [c for c in cities if not (c.resolved_data_dir / TABLES).is_dir()]
    if not missing and not areas_everywhere:
        return partners + cities
    with tempfile.TemporaryDirectory(prefix="gemello-city-") as tmp:
        source = Path(tmp)
        for partner in PARTNERS:  # every partner's tables, generated (no real data is read)
            prepare_partner_data(partner, source, None, seed)
        for city in missing:
            shutil.copytree(source / TABLES, city.resolved_data_dir / TABLES)
        if areas_everywhere:
            areas = next(e for e in read_manifest(source) if e.id == "statistical-areas")
            for s in partners:
                data_dir = s.resolved_data_dir
                own = prepare_partner_data(s.partner, data_dir, s.bologna_dir, s.synthetic_seed)
                if all(e.id != areas.id for e in own):
                    shutil.copy(source / areas.table_path, data_dir / areas.table_path)
                    record_entry(data_dir, areas)
    return partners + cities

"""Changes to the signed trust list made where the dataspace authority's key is: publishing a
member's keys after a rotation (from the CLI, or an admin's console on the machine that holds
the authority's key). The rest of the dataspace's setup is `connector.dataspace`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from joserfc.jwk import OKPKey

from connector.identity.keys import Clock, KeyRing
from connector.identity.trustlist import (
    MemberKey,
    TrustList,
    ensure_authority_key,
    load_trust_list,
    template_path,
    update_trust_list,
)
from connector.settings import ConfigError, Settings, load_settings
from connector.storage.tables import utcnow


def authority_of(home: Path, handle: str) -> tuple[Settings, OKPKey]:
    settings = load_settings(handle, home)
    return settings, ensure_authority_key(settings.resolved_data_dir, settings.trust_anchor_path)


def keys_of(ring: KeyRing, clock: Clock) -> list[MemberKey]:
    return [MemberKey.of(info) for info in ring.published(clock())]


def change_trust_list(
    home: Path, change: Callable[[TrustList], None], clock: Clock = utcnow
) -> TrustList:
    """Apply one change to the signed list, as the authority."""
    template = load_trust_list(template_path(home))
    authority, key = authority_of(home, template.authority)
    if not authority.trust_list_path.exists():
        raise ConfigError(f"no trust list at {authority.trust_list_path}; run `gemello init` first")
    return update_trust_list(authority.trust_list_path, key, change, clock)


def rotate_keys(
    home: Path, partner: Settings, overlap: timedelta, clock: Clock = utcnow
) -> tuple[str, str, TrustList]:
    """New active key for a partner; both keys on the trust list until the overlap ends."""
    ring = KeyRing.ensure(partner.resolved_data_dir, clock)
    # Publish first, sign with the new key second: peers know it before they see it.
    old, new = ring.rotate(overlap, clock, activate=False)

    def change(space: TrustList) -> None:
        space.member(partner.partner).keys = keys_of(ring, clock)

    signed = change_trust_list(home, change, clock)
    ring.activate(new)
    return old, new, signed

"""Who is acting: the person (or connector) behind whatever this context writes.

A context variable: authentication sets it for a request, the command line for its operator or
steward, the connector's lifespan for what the server does by itself. The audit log reads it
(`audit.recorder`); identity owns it, since it is who authenticated them.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting in this context."""

    subject: str = ""
    organisation: str = ""
    role: str = ""


NOBODY = Actor()
current: ContextVar[Actor | None] = ContextVar("gemello_actor", default=None)


def operator_actor() -> Actor:
    """The person at a terminal on the connector's host: the account running the command (by
    its user id, which a changed $USER does not fake)."""
    import os
    import pwd

    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = str(os.geteuid())
    return Actor(subject=f"operator:{name}", role="operator")


def connector_actor(partner: str, participant_id: str) -> Actor:
    """The connector itself, for what its server does with nobody asking."""
    return Actor(subject=f"connector:{partner}", organisation=participant_id, role="connector")

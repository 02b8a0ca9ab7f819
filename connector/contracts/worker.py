"""The contracts worker: decides requested negotiations and transfers, delivers the outbox.

It runs in the connector's event loop, woken by the endpoints that create work and otherwise
polling every second (so work written by the CLI, e.g. a steward's approval, or left over from
before a restart, is picked up). Database work runs in a thread; delivery is async HTTP.
Transient failures (network, 5xx, 429) are retried with exponential back-off; a 4xx answer is
final and kept in the row with the other side's problem detail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from connector.contracts import common, provider, transfers
from connector.contracts.repository import OutboxRepository
from connector.errors import GemelloError
from connector.identity.auth import IdentityContext
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import TrustListInvalid, VerifiedTrustList
from connector.policies.service import PolicyRuntime
from connector.storage import session_scope
from connector.storage.tables import utcnow

log = logging.getLogger("gemello.contracts")
MAX_ATTEMPTS = 10


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 1 s, 2 s, 4 s ... up to a minute."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


@dataclass
class ContractsRuntime:
    """Everything the contract endpoints and the worker share (one per app)."""

    engine: Engine
    identity: IdentityContext
    policies: PolicyRuntime
    peers: PeerClient | None = None
    poll_seconds: float = 1.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    def me(self) -> common.Me:
        """This connector as a party (participant id, URL, active signing key)."""
        member = self.identity.own_member()
        kid, key = self.identity.signer.active_key()
        return common.Me(member.participant_id, member.connector_url, kid, key)

    def trust(self) -> VerifiedTrustList:
        """The verified trust list now."""
        return self.identity.trust.current()

    def wake(self) -> None:
        """New work: run the worker now instead of at the next poll (callable from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Work until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await self.step()
            except Exception:  # the worker must survive anything one item does
                log.exception("contracts worker step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def step(self) -> int:
        """Decide what waits for a decision, then deliver what is due; returns messages sent."""
        await asyncio.to_thread(self.decide_pending)
        return await self.deliver()

    # --- decisions ------------------------------------------------------------------------------

    def _each(self, ids: list[str], act: Callable[..., object], what: str) -> None:
        try:
            me, trust = self.me(), self.trust()
        except TrustListInvalid as exc:
            log.warning("not deciding %ss: trust list not valid (%s)", what, exc)
            return
        for pid in ids:
            try:
                with session_scope(self.engine, write=True) as session:
                    act(session, self.policies, me, trust, pid)
            except GemelloError as exc:
                log.info("%s %s not decided: %s", what, pid, exc.detail)

    def decide_pending(self) -> None:
        """Run the PDP on every undecided negotiation and transfer (each in its own unit)."""
        with session_scope(self.engine) as session:
            negotiations = [r.id for r in provider.undecided(session)]
            pulls = [r.id for r in transfers.undecided_transfers(session)]
        self._each(negotiations, provider.decide_negotiation, "negotiation")
        self._each(pulls, transfers.decide_transfer, "transfer")

    # --- delivery -------------------------------------------------------------------------------

    async def deliver(self) -> int:
        """Send every due outbox message once; record the outcome of each."""
        if self.peers is None:
            return 0
        with session_scope(self.engine) as session:
            due = [
                (m.id, m.participant_id, m.path, m.body, m.actor_sub, m.actor_role, m.attempts)
                for m in OutboxRepository(session).due(utcnow())
            ]
        sent = 0
        for message_id, participant, path, body, sub, role, attempts in due:
            error, final = await self._send(participant, path, body, sub, role)
            # Written from a worker thread: a write on the loop could wait for a lock held by
            # a request whose transaction only the loop can close.
            await asyncio.to_thread(
                self._record, message_id, error, final or attempts + 1 >= MAX_ATTEMPTS
            )
            sent += error is None
        return sent

    async def _send(
        self, participant: str, path: str, body: dict[str, object], sub: str, role: str
    ) -> tuple[str | None, bool]:
        assert self.peers is not None
        try:
            trust = self.trust()
            member = trust.by_participant.get(participant)
            if member is None:
                return f"'{participant}' is not on the trust list", True
            me = trust.by_handle[self.identity.settings.partner]
            actor = Principal(
                kind="user",
                organisation=me.participant_id,
                partner=me.id,
                subject=sub,
                role=Role(role),
                credential="outbox",
            )
            response = await self.peers.request("POST", member, path, actor, json=body, timeout=10)
        except httpx.InvalidURL as exc:  # no retry can send it (e.g. a peer's pid made it)
            return f"{type(exc).__name__}: {exc}", True
        except (httpx.HTTPError, TrustListInvalid, GemelloError, KeyError) as exc:
            return f"{type(exc).__name__}: {exc}", False
        if response.is_success:
            return None, False
        detail = response.text[:500]
        transient = response.status_code >= 500 or response.status_code == 429
        return f"{response.status_code}: {detail}", not transient

    def _record(self, message_id: int | None, error: str | None, final: bool) -> None:
        with session_scope(self.engine, write=True) as session:
            row = OutboxRepository(session).get(message_id or 0)
            if row is None:
                return
            row.attempts += 1
            now = utcnow()
            if error is None:
                row.delivered_at, row.last_error = now, ""
            else:
                row.last_error = error
                if final:
                    row.failed_at = now
                    log.warning("giving up on message %s to %s: %s", row.id, row.path, error)
                else:
                    row.next_attempt_at = now + backoff(row.attempts)
            session.add(row)

"""The audit log's background work: sequence queued events into the tree, sign tree heads,
and witness the other members' logs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from connector.audit import repository as store
from connector.audit import service
from connector.identity.auth import IdentityContext
from connector.identity.keys import SignatureInvalid
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member, TrustListInvalid
from connector.storage import session_scope

log = logging.getLogger("gemello.audit")


class AuditRuntime:
    """Checkpoints of this connector's log, and witnessing of the others'."""

    def __init__(self, engine: Engine, ctx: IdentityContext) -> None:
        self.engine = engine
        self.ctx = ctx

    @property
    def log_id(self) -> str:
        """This log's name: the connector's participant id."""
        return self.ctx.own_member().participant_id

    def checkpoint(self) -> dict[str, Any] | None:
        """Sign the current head if the log grew; the latest checkpoint (None if empty)."""
        _kid, key = self.ctx.signer.active_key()
        with session_scope(self.engine, write=True) as session:
            service.issue_checkpoint(session, self.log_id, key)
            latest = store.latest_checkpoint(session)
            return None if latest is None else service.checkpoint_view(latest, self.log_id)

    async def witness_all(self, peers: PeerClient) -> list[service.WitnessOutcome]:
        """Fetch, check and co-sign every other member's latest checkpoint."""
        try:
            me = self.ctx.own_member()
            members = [m for m in peers.members() if m.participant_id != me.participant_id]
        except (TrustListInvalid, Exception) as exc:
            log.warning("not witnessing: %s", exc)
            return []
        return list(await asyncio.gather(*(self.witness(peers, m) for m in members)))

    async def witness(self, peers: PeerClient, member: Member) -> service.WitnessOutcome:
        """One member: its head, a consistency proof from the last head seen, then co-sign."""
        principal = Principal(
            kind="user", organisation=self.log_id, partner=self.ctx.own_member().id,
            subject="witness", role=Role.auditor, credential="witness",
        )  # fmt: skip
        try:
            resp = await peers.request("GET", member, "/audit/checkpoint", principal, timeout=10)
            if resp.status_code == 204:
                return service.WitnessOutcome(member.id, "unchanged", 0, "empty log")
            resp.raise_for_status()
            doc = resp.json()
            keys = {k.kid: k.public_key() for k in member.keys}
            service.verify_checkpoint(doc, member.participant_id, keys)
            with session_scope(self.engine) as session:
                last = store.latest_witnessed(session, member.id)
            proof: list[str] = []
            if last is not None and 0 < last.size < int(doc["size"]):
                p = await peers.request(
                    "GET", member, "/audit/proofs/consistency", principal, timeout=10,
                    params={"first": last.size, "second": int(doc["size"])},
                )  # fmt: skip
                p.raise_for_status()
                proof = list(p.json()["proof"])
        except httpx.HTTPError as exc:
            return service.WitnessOutcome(member.id, "unreachable", 0, str(exc))
        except (SignatureInvalid, KeyError, ValueError) as exc:
            return service.WitnessOutcome(member.id, "invalid", 0, str(exc))
        _kid, key = self.ctx.signer.active_key()

        def record() -> service.WitnessOutcome:
            with session_scope(self.engine, write=True) as session:
                return service.record_witness(session, member.id, doc, proof, key, self.log_id)

        return await run_in_threadpool(record)


async def keep_sequencing(engine: Engine, every_s: float) -> None:
    """Integrate queued events into the log every `every_s` seconds (one read when idle)."""
    while True:
        try:
            got = await run_in_threadpool(store.integrate_all, engine)
            if got:
                log.debug("audit: %d event(s) integrated", got)
        except Exception:  # the loop must outlive one bad round
            log.exception("audit sequencing round failed")
        await asyncio.sleep(every_s)


async def keep_auditing(
    rt: AuditRuntime, peers: PeerClient, every_s: float, witness_s: float
) -> None:
    """Sign heads every `every_s` seconds; witness the others every `witness_s` seconds."""
    tick = min(s for s in (every_s, witness_s) if s > 0)
    since_witness = 0.0
    while True:
        await asyncio.sleep(tick)
        since_witness += tick
        try:
            if every_s > 0:
                await run_in_threadpool(rt.checkpoint)
            if witness_s > 0 and since_witness >= witness_s:
                since_witness = 0.0
                for o in await rt.witness_all(peers):
                    if o.status in ("fork", "invalid"):
                        log.error("witnessing %s: %s %s", o.partner, o.status, o.detail)
        except Exception:  # the loop must outlive one bad round
            log.exception("audit background round failed")

"""Sharing a finished run: with colleagues, or with another organisation of the dataspace.

Sharing never widens what was released: the recipient sees the run's stored result, the same
noisy aggregates its owner sees, with its provenance. Inside the owner's organisation a share
is always allowed. With another organisation it is a use of every input dataset: each holder's
policy decides the `share` action for that recipient (the gateway's own datasets in process,
the others' over a signed request under the run's agreements), and one refusal refuses the
share, naming the dataset and the rule. An allowed share is sent, signed, to the recipient's
connector, which keeps it for its users. Both sides record it in their audit logs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from connector.errors import BadRequest, GemelloError, NotFound, UsageDenied
from connector.gateway.repository import ShareRepository
from connector.identity.schemas import Principal
from connector.storage import Session, session_scope
from connector.storage.tables import FederatedJob, ReceivedRun, RunShare, utcnow
from connector.timestamps import as_utc
from policy.request import UsageRequest


class ShareFailed(GemelloError):
    """A holder or the recipient could not be reached to decide or receive a share."""

    title, status, slug = "The share could not be completed", 502, "upstream-failed"


@dataclass(frozen=True)
class Verdict:
    """One holder's decision on sharing one input dataset."""

    partner: str
    dataset: str
    allow: bool
    decision_id: str
    reasons: tuple[str, ...]


# What a recipient receives of a job: its released result and how it was made, never the
# resume context.
SENT = ("id", "model", "model_hash", "params", "purpose", "epsilon", "requested_by",
        "requested_role", "state", "stage", "holders", "result", "provenance", "error")  # fmt: skip


def job_payload(job: FederatedJob) -> dict[str, Any]:
    """A finished job as sent to a recipient."""
    out = {k: getattr(job, k) for k in SENT}
    out["created_at"] = as_utc(job.created_at).isoformat()
    out["finished_at"] = as_utc(job.finished_at).isoformat() if job.finished_at else None
    return out


def job_from_payload(payload: dict[str, Any]) -> FederatedJob:
    """A received job, as an unsaved row the result pages can draw."""
    fields = {k: payload.get(k) for k in SENT}
    fields["created_at"] = datetime.fromisoformat(str(payload["created_at"]))
    finished = payload.get("finished_at")
    fields["finished_at"] = datetime.fromisoformat(str(finished)) if finished else None
    return FederatedJob(**{k: v for k, v in fields.items() if v is not None})


async def verdicts(
    contracts: Any,
    peers: Any,
    principal: Principal,
    job: FederatedJob,
    action: str,
    recipient: str | None = None,
) -> list[Verdict]:
    """Every input holder's decision on releasing the run further: `share` with `recipient`
    (a participant id), or `publish` for anyone. The gateway's own datasets are decided here,
    the others' by their holders over a signed request under the run's agreements."""
    me = peers.ctx.own_member()
    trust = contracts.trust()
    out: list[Verdict] = []
    for h in job.holders:
        if h.get("state") != "succeeded":
            continue
        partner = str(h.get("partner"))
        member = trust.by_handle.get(partner)
        for dataset, iri in (h.get("datasets") or {}).items():
            if member is None:
                out.append(Verdict(partner, dataset, False, "", (f"'{partner}' left",)))
            elif member.participant_id == me.participant_id:
                request = UsageRequest(
                    target=iri, action=action, at=utcnow(), purpose=job.purpose,
                    recipient=recipient or me.participant_id,
                    recipient_role=principal.role.value,
                )  # fmt: skip
                with session_scope(contracts.engine, write=True) as session:
                    d = contracts.policies.decide(
                        session, request, context=f"{action} {job.id}",
                        organisation=me.participant_id, subject=principal.subject,
                        correlation=job.id,
                    )  # fmt: skip
                out.append(Verdict(partner, dataset, d.allow, d.decision_id, tuple(d.reasons)))
            else:
                agreement = (h.get("agreements") or {}).get(dataset)
                if not agreement:
                    out.append(Verdict(partner, dataset, False, "", ("no agreement on record",)))
                    continue
                body = {"agreement_id": agreement, "job_id": job.id}
                if action == "share":
                    body["recipient"] = recipient or ""
                path = (
                    "/contracts/shares/decide"
                    if action == "share"
                    else ("/contracts/publications/decide")
                )
                try:
                    r = await peers.request("POST", member, path, principal, json=body, timeout=30)
                except httpx.HTTPError as exc:
                    raise ShareFailed(f"{partner} could not be asked: {exc}") from exc
                answer = r.json() if r.headers.get("content-type", "").find("json") >= 0 else {}
                if r.status_code >= 400:
                    why = str(answer.get("detail") or r.text[:200])
                    out.append(Verdict(partner, dataset, False, "", (why,)))
                else:
                    out.append(Verdict(partner, dataset, bool(answer.get("allow")),
                                       str(answer.get("decision_id", "")),
                                       tuple(answer.get("reasons") or ())))  # fmt: skip
    return out


def refuse_unless_all_allow(found: list[Verdict], what: str) -> None:
    """UsageDenied naming each refusing dataset and rule, if any holder refused."""
    refusals = [v for v in found if not v.allow]
    if refusals:
        raise UsageDenied(
            f"{what} is refused: "
            + "; ".join(f"{v.partner}'s '{v.dataset}': {' '.join(v.reasons)}" for v in refusals),
            decisions=[v.decision_id for v in refusals if v.decision_id],
        )


async def share_run(
    contracts: Any,
    peers: Any,
    principal: Principal,
    job: FederatedJob,
    organisation: str,
    user: str,
    note: str,
) -> RunShare:
    """Share a finished run of the principal's with `user` (a name; '' for everyone) at
    `organisation` (a member handle). UsageDenied names each refusing dataset and rule."""
    if job.result is None:
        raise BadRequest(f"run {job.id} has no result to share ({job.state})")
    me = peers.ctx.own_member()
    member = contracts.trust().by_handle.get(organisation)
    if member is None:
        raise NotFound(f"'{organisation}' is not a member of the dataspace")
    share = RunShare(
        id=f"share-{uuid.uuid4()}",
        job_id=job.id,
        shared_by=principal.name or principal.subject,
        organisation=member.participant_id,
        recipient=user,
        note=note,
        purpose=job.purpose,
    )
    if member.participant_id != me.participant_id:
        found = await verdicts(contracts, peers, principal, job, "share", member.participant_id)
        share.decisions = [v.__dict__ | {"reasons": list(v.reasons)} for v in found]
        refuse_unless_all_allow(found, f"sharing with {member.id}")
        payload = {
            "share_id": share.id,
            "shared_by": share.shared_by,
            "recipient": user,
            "note": note,
            "job": job_payload(job),
        }
        try:
            r = await peers.request(
                "POST", member, "/federation/shares", principal, json=payload, timeout=60
            )
        except httpx.HTTPError as exc:
            raise ShareFailed(f"{member.id} could not be reached: {exc}") from exc
        if r.status_code >= 400:
            raise ShareFailed(f"{member.id} did not take the share: {r.text[:300]}")
    with session_scope(contracts.engine, write=True) as session:
        ShareRepository(session).add(share)
        session.flush()
        session.expunge(share)
    return share


def receive(session: Session, sender: str, payload: dict[str, Any]) -> ReceivedRun:
    """Keep a run another member shared with this organisation (or one of its users)."""
    job = dict(payload.get("job") or {})
    if not job.get("id") or not job.get("result"):
        raise BadRequest("a shared run needs its id and its result")
    row = ReceivedRun(
        id=str(payload["share_id"]),
        sender=sender,
        shared_by=str(payload.get("shared_by", "")),
        recipient=str(payload.get("recipient", "")),
        note=str(payload.get("note", "")),
        job=job,
    )
    repo = ShareRepository(session)
    if repo.received(row.id) is None:
        repo.add(row)
    return row


@dataclass(frozen=True)
class Shared:
    """A run shared with someone, as their console lists it."""

    id: str
    kind: str  # local (a colleague's run on this connector) or received (from another member)
    job: FederatedJob
    shared_by: str
    sender: str
    note: str
    created_at: Any


def shared_with(session: Session, principal: Principal, own_participant: str) -> list[Shared]:
    """Every run shared with this person: by colleagues here, and by other members."""
    repo = ShareRepository(session)
    out = []
    for s in repo.local_for(own_participant, principal.name or ""):
        job = session.get(FederatedJob, s.job_id)
        if job is not None and job.requested_by != principal.subject:
            out.append(Shared(s.id, "local", job, s.shared_by, own_participant, s.note,
                              s.created_at))  # fmt: skip
    for r in repo.received_for(principal.name or ""):
        out.append(Shared(r.id, "received", job_from_payload(r.job), r.shared_by, r.sender,
                          r.note, r.created_at))  # fmt: skip
    return sorted(out, key=lambda s: as_utc(s.created_at), reverse=True)


def one_shared(
    session: Session, share_id: str, principal: Principal, own_participant: str
) -> Shared:
    """One run shared with this person (404 for anything else)."""
    for s in shared_with(session, principal, own_participant):
        if s.id == share_id:
            return s
    raise NotFound(f"no run '{share_id}' shared with you")


def shares_of(session: Session, job_id: str) -> list[RunShare]:
    """Who a run was shared with."""
    return ShareRepository(session).of_job(job_id)

"""Publishing a finished run on the public portal, for anyone to read.

Publishing never widens what was released: the portal shows a frozen copy of the run's stored
result (the same noisy aggregates its owner sees), its scenario, its provenance and the model's
code hash. No person is named in it: the researcher's pseudonym is replaced by "a researcher of"
their organisation, in the provenance too. Publishing is a use of every input dataset: each
holder's policy decides the ODRL `publish` action (denied by default for personal data), and
one refusal refuses the publication, naming the dataset and the rule. A publication gets a
stable id, `/public/results/{id}`, and is listed in the publisher's DCAT-AP catalogue as a
dataset derived from its inputs. It is recorded in the audit log as `publish.run`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from catalog.model import DerivedDataset, DerivedDownload, LangText, Theme
from connector.errors import BadRequest
from connector.gateway import index
from connector.gateway.repository import PublicationRepository
from connector.gateway.shares import (
    job_from_payload,
    job_payload,
    refuse_unless_all_allow,
    verdicts,
)
from connector.identity.schemas import Principal
from connector.storage import Session, session_scope
from connector.storage.tables import FederatedJob, PublishedResult
from connector.timestamps import as_utc

# What a holder's entry keeps once published: where the data was, how it was used and decided,
# and the noise added; never a run id that a holder's own log could tie to a person.
HOLDER_KEYS = ("stage", "partner", "state", "seconds", "datasets", "dataset_versions",
               "agreements", "decisions", "privacy", "suppressed", "digest")  # fmt: skip
# What the run itself keeps: no requester, no role, no error text.
DROPPED = ("requested_by", "requested_role", "error")
ANONYMOUS = "researcher"


def _scrub(value: Any, secret: str, replacement: str) -> Any:
    """`value` with every occurrence of `secret` in its strings replaced."""
    if isinstance(value, str):
        return value.replace(secret, replacement) if secret else value
    if isinstance(value, dict):
        return {k: _scrub(v, secret, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secret, replacement) for v in value]
    return value


def release_of(job: FederatedJob, organisation_handle: str) -> dict[str, Any]:
    """What a publication of `job` shows: its released result as stored, its scenario, model
    and code hash, the epsilon it spent, its holders' datasets, agreements and decisions, and
    its provenance, with the requester replaced by an anonymous researcher of the
    organisation."""
    out = {k: v for k, v in job_payload(job).items() if k not in DROPPED}
    out["holders"] = [{k: h[k] for k in HOLDER_KEYS if k in h} for h in job.holders]
    anonymous = f"{organisation_handle}-{ANONYMOUS}"
    return dict(_scrub(out, job.requested_by, anonymous))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "result"


async def publish_run(
    contracts: Any,
    peers: Any,
    principal: Principal,
    job: FederatedJob,
    title: str,
    note: str,
) -> PublishedResult:
    """Publish a finished run of the principal's. UsageDenied names each refusing dataset
    and rule; nothing is stored then."""
    if job.result is None or job.state not in ("succeeded", "partial"):
        raise BadRequest(f"run {job.id} has no released result to publish ({job.state})")
    title = title.strip()
    if len(title) < 5:
        raise BadRequest("a publication needs a title of at least 5 characters")
    me = peers.ctx.own_member()
    found = await verdicts(contracts, peers, principal, job, "publish")
    if not found:
        raise BadRequest(f"run {job.id} has no input holder to ask")
    decisions = [v.__dict__ | {"reasons": list(v.reasons)} for v in found]
    refuse_unless_all_allow(found, "publishing this run")
    released = release_of(job, me.id)
    released["synthetic_inputs"] = sorted(
        index.inputs_by_synthetic(contracts.engine, job.holders)[0]
    )
    row = PublishedResult(
        id=f"{_slug(job.model)}-{uuid.uuid4().hex[:12]}",
        job_id=job.id,
        title=title[:200],
        note=note.strip()[:4000],
        published_by=principal.name or principal.subject,
        organisation=me.participant_id,
        model=job.model,
        purpose=job.purpose,
        released=released,
        decisions=decisions,
    )
    with session_scope(contracts.engine, write=True) as session:
        PublicationRepository(session).add(row)
        session.flush()
        session.expunge(row)
    return row


def published(session: Session, publication_id: str) -> PublishedResult | None:
    """One publication, or None."""
    return PublicationRepository(session).get(publication_id)


def all_published(session: Session) -> list[PublishedResult]:
    """Every publication, newest first."""
    return PublicationRepository(session).all()


def of_job(session: Session, job_id: str) -> list[PublishedResult]:
    """The publications of one run."""
    return PublicationRepository(session).of_job(job_id)


def as_job(row: PublishedResult) -> FederatedJob:
    """A publication as an unsaved run the result pages can draw (no requester)."""
    return job_from_payload({**row.released, "requested_by": ""})


THEMES = {"mobility": Theme.TRAN, "energy": Theme.ENER, "flood": Theme.ENVI}
DOWNLOADS = (
    ("release.json", "application/json", "the published release (JSON)"),
    ("download/areas.geojson", "application/geo+json", "per-area figures (GeoJSON)"),
    ("download/areas.csv", "text/csv", "per-area figures (CSV)"),
    ("download/prov.jsonld", "application/ld+json", "provenance (W3C PROV, JSON-LD)"),
)


def as_derived(row: PublishedResult, base_url: str) -> DerivedDataset:
    """A publication as a DCAT-AP dataset derived from its inputs, at `base_url` (the
    connector's public address)."""
    page = f"{base_url}/public/results/{row.id}"
    inputs = sorted(
        {
            str(iri)
            for h in row.released.get("holders") or []
            for iri in (h.get("datasets") or {}).values()
        }
    )
    note = row.note or f"A published result of the model {row.model}."
    return DerivedDataset(
        id=row.id,
        title=LangText(it=row.title, en=row.title),
        description=LangText(it=note, en=note),
        themes=list(
            dict.fromkeys([THEMES.get(row.model.partition("-")[0], Theme.REGI), Theme.REGI])
        ),
        issued=as_utc(row.published_at),
        landing_page=page,
        downloads=[
            DerivedDownload(url=f"{page}/{path}", media_type=media, title=title)
            for path, media, title in DOWNLOADS
        ],  # fmt: skip
        derived_from=inputs,
        generated_by=f"urn:gemello:{row.job_id}",
        synthetic=bool(row.released.get("synthetic_inputs")),
    )

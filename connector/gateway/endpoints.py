"""Federation endpoints: ask every member connector, over signed requests, and merge."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.datasets.schemas import DatasetPage
from connector.deps import WriteSessionDep
from connector.gateway import shares
from connector.identity.auth import AUTH_RESPONSES, PrincipalDep, access
from connector.identity.peers import PeerClient
from connector.identity.schemas import Principal, Role
from connector.identity.trustlist import Member
from connector.runtime import get_connector

router = APIRouter(
    prefix="/federation",
    tags=["federation"],
    dependencies=[access(Role.researcher, Role.steward, Role.admin, Role.auditor)],
    responses=AUTH_RESPONSES,
)

PEER_TIMEOUT_S = 10.0


class MemberDatasets(BaseModel):
    """One member's answer (or why there is none)."""

    partner: str
    participant_id: str
    legal_name: str
    connector_url: str
    status: Literal["ok", "refused", "unreachable", "invalid"]
    detail: str | None = Field(default=None, description="why the status is not ok")
    page: DatasetPage | None = None


class FederatedDatasets(BaseModel):
    """Datasets across the dataspace, asked with one signed request per member."""

    members: list[MemberDatasets]
    datasets: int
    total_rows: int


def peer_client(request: Request) -> PeerClient:
    """The app's client for signed calls to other members."""
    return get_connector(request).peer_client()


def _problem_detail(resp: httpx.Response) -> str:
    """The `detail` of a problem document, or the start of whatever came back."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return resp.text[:200]


async def _ask(peers: PeerClient, member: Member, principal: Principal) -> MemberDatasets:
    base = MemberDatasets(
        partner=member.id,
        participant_id=member.participant_id,
        legal_name=member.legal_name,
        connector_url=member.connector_url,
        status="ok",
    )
    try:
        resp = await peers.request("GET", member, "/datasets", principal, timeout=PEER_TIMEOUT_S)
    except httpx.TransportError as exc:
        return base.model_copy(update={"status": "unreachable", "detail": type(exc).__name__})
    if resp.status_code != 200:
        return base.model_copy(
            update={"status": "refused", "detail": f"{resp.status_code}: {_problem_detail(resp)}"}
        )
    try:
        page = DatasetPage.model_validate_json(resp.content)
    except ValidationError as exc:
        return base.model_copy(update={"status": "invalid", "detail": str(exc)[:200]})
    return base.model_copy(update={"page": page})


@router.get("/datasets", response_model=FederatedDatasets)
async def federated_datasets(request: Request, principal: PrincipalDep) -> FederatedDatasets:
    """List the datasets of every member, asking each connector with a signed request."""
    peers = peer_client(request)
    answers = await asyncio.gather(*(_ask(peers, m, principal) for m in peers.members()))
    pages = [a.page for a in answers if a.page is not None]
    return FederatedDatasets(
        members=list(answers),
        datasets=sum(len(p.datasets) for p in pages),
        total_rows=sum(p.total_rows for p in pages),
    )


shares_router = APIRouter(
    prefix="/federation/shares",
    tags=["federation"],
    dependencies=[access(peers=True)],
    responses=AUTH_RESPONSES,
)


class SharedRun(BaseModel):
    """A run another member shares with this organisation (or one of its users): its released
    result, its provenance and who shared it."""

    model_config = ConfigDict(extra="forbid")

    share_id: str = Field(pattern=r"^share-[0-9a-f\-]{36}$")
    shared_by: str = Field(max_length=120)
    recipient: str = Field(default="", max_length=120, description="a user's name, or '' for all")
    note: str = Field(default="", max_length=2000)
    job: dict[str, Any]


class SharedReceipt(BaseModel):
    """The share, kept."""

    share_id: str
    recipient: str


@shares_router.post("", status_code=201, response_model=SharedReceipt)
def receive_share(
    body: SharedRun, session: WriteSessionDep, principal: PrincipalDep
) -> SharedReceipt:
    """Keep a run another member's user shared here (the sender's holders' policies allowed
    it); this organisation's users find it in their console."""
    row = shares.receive(session, principal.organisation, body.model_dump())
    return SharedReceipt(share_id=row.id, recipient=row.recipient)

"""HTTP endpoints of the dataset register (thin: validation in, service call, schema out)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from connector.datasets import service
from connector.datasets.schemas import DatasetOut, DatasetPage, SyncOut
from connector.deps import SessionDep, SettingsDep, WriteSessionDep
from connector.errors import Problem
from connector.identity.auth import ANY_LOCAL_ROLE, AUTH_RESPONSES, access
from connector.identity.schemas import Role
from connector.partnerdata.prepare import read_manifest
from connector.publishing.context import CatalogContext, catalog_context
from connector.publishing.service import sync_catalog

CatalogDep = Annotated[CatalogContext, Depends(catalog_context)]

# Reading the register: any local user, and other members' connectors.
router = APIRouter(
    prefix="/datasets",
    tags=["datasets"],
    dependencies=[access(*ANY_LOCAL_ROLE, peers=True)],
    responses=AUTH_RESPONSES,
)
# Changing it: stewards (and admins) of this partner only.
steward_router = APIRouter(
    prefix="/datasets",
    tags=["datasets"],
    dependencies=[access(Role.steward, Role.admin)],
    responses=AUTH_RESPONSES,
)
DatasetId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$", description="dataset id")]


@router.get("", response_model=DatasetPage)
def list_datasets(session: SessionDep, settings: SettingsDep) -> DatasetPage:
    """List the datasets this connector holds, with row counts and provenance."""
    records = service.list_datasets(session)
    items = [DatasetOut.model_validate(r, from_attributes=True) for r in records]
    return DatasetPage(
        partner=settings.partner, datasets=items, total_rows=sum(d.row_count for d in items)
    )


@router.get("/{dataset_id}", response_model=DatasetOut, responses={404: {"model": Problem}})
def get_dataset(dataset_id: DatasetId, session: SessionDep) -> DatasetOut:
    """Describe one dataset: schema, row count, provenance and digest."""
    return DatasetOut.model_validate(service.get_dataset(session, dataset_id), from_attributes=True)


@steward_router.post("/register/sync", response_model=SyncOut)
def sync(session: WriteSessionDep, settings: SettingsDep, ctx: CatalogDep) -> SyncOut:
    """Re-read the table manifest, bring the register in line, and republish the catalogue."""
    tables = read_manifest(settings.resolved_data_dir)
    report = service.sync_register(session, tables)
    published = sync_catalog(
        session,
        tables,
        settings.resolved_data_dir,
        ctx.publisher(),
        settings.partner,
        ctx.validator,
    )
    return SyncOut(**report.__dict__, catalogue=published.__dict__)

"""API shapes of the dataset register."""

from __future__ import annotations

from pydantic import BaseModel, Field

from connector.timestamps import UtcDateTime


class ColumnOut(BaseModel):
    """One column of a dataset's table."""

    name: str
    type: str = Field(description="Arrow type, e.g. int32, string, date32[day]")


class DatasetOut(BaseModel):
    """A dataset held by this connector."""

    id: str
    title: str
    description: str
    theme: str = Field(description="EU data theme code")
    row_count: int
    columns: list[ColumnOut]
    synthetic: bool = Field(description="true when generated, not observed")
    source: str = Field(description="credit line for real data, generator for synthetic")
    content_sha256: str
    updated_at: UtcDateTime


class DatasetPage(BaseModel):
    """All datasets of this connector."""

    partner: str
    datasets: list[DatasetOut]
    total_rows: int


class SyncOut(BaseModel):
    """What a register sync changed."""

    added: int
    updated: int
    unchanged: int
    removed: int
    catalogue: dict[str, int] = Field(
        default_factory=dict, description="what republishing the catalogue changed"
    )

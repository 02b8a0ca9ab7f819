"""Partner tables for model tests: real where ../shared has them, else seeded synthetic ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from connector.partnerdata.prepare import build_table
from connector.partnerdata.specs import partner_specs
from connector.settings import source_root

TableFor = Callable[[str, str], pa.Table]


@pytest.fixture(scope="session")
def table_for() -> TableFor:
    """(partner, dataset) -> the Arrow table that partner's connector would hold."""
    shared = source_root().parent / "shared" / "data" / "bologna"
    bologna = shared if shared.is_dir() else None
    cache: dict[tuple[str, str], pa.Table] = {}

    def _table(partner: str, dataset: str) -> pa.Table:
        if (partner, dataset) not in cache:
            spec = next(s for s in partner_specs(partner) if s.id == dataset)
            cache[partner, dataset] = build_table(spec, partner, bologna, 7, b"k" * 32)
        return cache[partner, dataset]

    return _table


def shared_dir() -> Path | None:
    """The real Bologna data, when present."""
    d = source_root().parent / "shared" / "data" / "bologna"
    return d if d.is_dir() else None

"""Materialise a partner's datasets as typed Parquet tables plus a manifest in its data dir.

Idempotent: a table whose file is present, whose origin (real or synthetic) is unchanged and
whose digest matches the manifest is left alone, so a second start is quick. A synthetic
table's origin names the generator's version, so tables made by an older generator are made
again.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from connector.partnerdata.bologna import area_codes
from connector.partnerdata.specs import DatasetSpec, partner_specs
from connector.partnerdata.synthetic import GENERATOR_VERSION
from privacy import pseudonym_key, pseudonymise_columns

MANIFEST = "manifest.json"
TABLES = "tables"

Progress = Callable[[str], None]


@dataclass
class TableEntry:
    """What the manifest records about one table; the connector registers exactly this."""

    id: str
    title: str
    description: str
    theme: str
    table_path: str
    row_count: int
    columns: list[dict[str, str]]
    synthetic: bool
    source: str
    content_sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(data_dir: Path) -> list[TableEntry]:
    """The tables recorded in a data dir (empty when it was never prepared)."""
    path = data_dir / TABLES / MANIFEST
    if not path.is_file():
        return []
    return [TableEntry(**row) for row in json.loads(path.read_text())["tables"]]


def _seed(base: int, partner: str, dataset: str) -> int:
    # Stable per table, so adding a dataset never changes the others' synthetic rows.
    return base ^ zlib.crc32(f"{partner}/{dataset}".encode())


def partner_table(
    partner: str, dataset_id: str, bologna_dir: Path | None, seed: int, key: bytes = b""
) -> tuple[pa.Table, bool]:
    """One of a partner's tables by id, built in memory (benchmarks, validation), and whether
    it is synthetic."""
    spec = next(s for s in partner_specs(partner) if s.id == dataset_id)
    table = build_table(spec, partner, bologna_dir, seed, key)
    return table, spec.real is None or bologna_dir is None


def build_table(
    spec: DatasetSpec, partner: str, bologna_dir: Path | None, seed: int, key: bytes = b""
) -> pa.Table:
    """A dataset as an Arrow table: real rows when the shared data is here, else seeded ones.
    Personal identifier columns are replaced by keyed hashes (`key`) before anything is written.
    """
    if spec.real is not None and bologna_dir is not None:
        frame = spec.real(bologna_dir)
    else:
        rng = np.random.default_rng(_seed(seed, partner, spec.id))
        frame = spec.synthetic(rng, area_codes(bologna_dir))
    table = pa.Table.from_pandas(frame[spec.schema.names], schema=spec.schema, preserve_index=False)
    if spec.identifiers:
        if not key:
            raise ValueError(f"{spec.id} holds personal identifiers: a pseudonym key is needed")
        table = pseudonymise_columns(table, spec.identifiers, key)
    return table


def prepare_partner_data(
    partner: str,
    data_dir: Path,
    bologna_dir: Path | None,
    seed: int,
    progress: Progress | None = None,
) -> list[TableEntry]:
    """Write (or reuse) every table of a partner and return the manifest entries."""
    tables_dir = data_dir / TABLES
    tables_dir.mkdir(parents=True, exist_ok=True)
    previous = {e.id: e for e in read_manifest(data_dir)}
    entries: list[TableEntry] = []
    for spec in partner_specs(partner):
        is_synthetic = spec.real is None or bologna_dir is None
        rel = f"{TABLES}/{spec.id}.parquet"
        path = data_dir / rel
        old = previous.get(spec.id)
        source = (
            spec.credit
            if not is_synthetic
            else f"gemello synthetic generator {GENERATOR_VERSION} (seed {seed})"
        )
        if spec.identifiers:
            source += f"; {', '.join(spec.identifiers)} pseudonymised (HMAC-SHA-256)"
        if (
            old
            and old.synthetic == is_synthetic
            and old.source == source
            and path.is_file()
            and file_sha256(path) == old.content_sha256
        ):
            entries.append(old)
            continue
        if progress:
            progress(f"{partner}: {'generating' if is_synthetic else 'loading'} {spec.id}")
        key = pseudonym_key(data_dir) if spec.identifiers else b""
        entries.append(
            write_table(
                data_dir,
                spec.id,
                build_table(spec, partner, bologna_dir, seed, key),
                title=spec.title,
                description=spec.description,
                theme=spec.theme,
                source=source,
                synthetic=is_synthetic,
            )
        )
    # Tables that came from elsewhere (the portal harvester) stay listed while their file is there.
    ours = {spec.id for spec in partner_specs(partner)}
    entries += [
        e for e in previous.values() if e.id not in ours and (data_dir / e.table_path).is_file()
    ]
    manifest = {"partner": partner, "tables": [asdict(e) for e in entries]}
    tmp = tables_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    tmp.replace(tables_dir / MANIFEST)
    return entries


def record_entry(data_dir: Path, entry: TableEntry) -> None:
    """Add or replace one table in the manifest (atomically); the others stay as they are."""
    path = data_dir / TABLES / MANIFEST
    entries = {e.id: e for e in read_manifest(data_dir)}
    entries[entry.id] = entry
    partner = json.loads(path.read_text()).get("partner", "") if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    doc = {"partner": partner, "tables": [asdict(e) for e in entries.values()]}
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    tmp.replace(path)


def write_table(
    data_dir: Path,
    dataset_id: str,
    table: pa.Table,
    *,
    title: str,
    description: str,
    theme: str,
    source: str,
    synthetic: bool = False,
) -> TableEntry:
    """Write a table as `tables/<id>.parquet` (atomically: a crash never leaves a half-written
    table behind) and return its manifest entry."""
    rel = f"{TABLES}/{dataset_id}.parquet"
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return TableEntry(
        id=dataset_id,
        title=title,
        description=description,
        theme=theme,
        table_path=rel,
        row_count=table.num_rows,
        columns=[{"name": f.name, "type": str(f.type)} for f in table.schema],
        synthetic=synthetic,
        source=source,
        content_sha256=file_sha256(path),
    )


def add_table(data_dir: Path, dataset_id: str, table: pa.Table, **about: Any) -> TableEntry:
    """Store a table that comes from elsewhere (a portal, a steward's upload, a test) beside the
    partner's own, with `write_table`'s keywords; the connector registers it at its next start."""
    entry = write_table(data_dir, dataset_id, table, **about)
    record_entry(data_dir, entry)
    return entry

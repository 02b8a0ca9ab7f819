"""Harvest datasets from an Opendatasoft portal (explore API v2.1) into tables and DCAT-AP entries.

For each dataset: read its metadata (`/api/explore/v2.1/catalog/datasets/{id}`), skip it when its
`modified` and our table are unchanged, otherwise download the CSV export to a temporary file,
convert it to Parquet, and record it. Progress is saved after every dataset, so an interrupted
harvest resumes where it stopped. The catalogue entry is built from the portal's own metadata and
published through the same SHACL check as any steward's description.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.model import (
    CC_BY_4_0,
    EU,
    ContactPoint,
    DatasetDescription,
    Frequency,
    Governance,
    LangText,
    PrivacyClass,
    Theme,
)
from connector.partnerdata.catalogmeta import BOLOGNA
from connector.partnerdata.prepare import TABLES, TableEntry, file_sha256, record_entry

API = "/api/explore/v2.1/catalog/datasets"
STATE = "harvest-opendatasoft.json"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")
# Italian portal themes -> EU data themes (by the stem of the Italian word).
THEME_STEMS = {
    "trasport": Theme.TRAN,
    "mobilit": Theme.TRAN,
    "ambient": Theme.ENVI,
    "energ": Theme.ENER,
    "popolazion": Theme.SOCI,
    "region": Theme.REGI,
    "citt": Theme.REGI,
    "scienz": Theme.TECH,
    "tecnolog": Theme.TECH,
    "econom": Theme.ECON,
    "istruzion": Theme.EDUC,
    "cultur": Theme.EDUC,
    "govern": Theme.GOVE,
    "salute": Theme.HEAL,
    "giustizia": Theme.JUST,
    "agricolt": Theme.AGRI,
    "internazional": Theme.INTR,
}
LICENCES = {"cc by 4.0": CC_BY_4_0, "cc0": EU + "licence/CC0", "iodl 2.0": EU + "licence/IODL_2_0"}

Progress = Callable[[str], None]


class HarvestError(Exception):
    """A dataset that could not be harvested (the others go on)."""


@dataclass(frozen=True)
class HarvestResult:
    """What happened to one dataset."""

    dataset_id: str
    status: str  # harvested, unchanged, failed
    rows: int = 0
    detail: str = ""
    description: DatasetDescription | None = None


def slug(dataset_id: str) -> str:
    """A portal id as a Gemello dataset id (underscores become hyphens)."""
    return dataset_id.lower().replace("_", "-")


def themes_of(portal_themes: Sequence[str]) -> list[Theme]:
    """EU themes for the portal's Italian themes (REGI when none is recognised)."""
    found: list[Theme] = []
    for theme in portal_themes:
        low = theme.lower()
        for stem, code in THEME_STEMS.items():
            if stem in low and code not in found:
                found.append(code)
    return found or [Theme.REGI]


def _text(value: Any) -> str:
    plain = re.sub(r"<[^>]+>", " ", html.unescape(str(value or "")))
    return re.sub(r"\s+", " ", plain).strip()


def describe(meta: dict[str, Any], base_url: str, modified: str) -> DatasetDescription:
    """A DCAT-AP description from the portal's metadata (open data: privacy class open)."""
    dataset_id = str(meta["dataset_id"])
    default = meta.get("metas", {}).get("default", {})
    title = _text(default.get("title")) or dataset_id
    portal_themes = default.get("theme") or []
    keywords = [k for k in (default.get("keyword") or []) if isinstance(k, str) and k.strip()]
    licence = LICENCES.get(str(default.get("license", "")).strip().lower(), CC_BY_4_0)
    publisher = _text(default.get("publisher")) or "Comune di Bologna"
    return DatasetDescription(
        id=slug(dataset_id),
        title=LangText(it=title),
        description=LangText(it=_text(default.get("description")) or title),
        themes=themes_of(portal_themes if isinstance(portal_themes, list) else [portal_themes]),
        keywords={"it": keywords} if keywords else {},
        contact_point=ContactPoint(name=publisher, email="opendata@comune.bologna.it"),
        spatial=[BOLOGNA],
        frequency=Frequency.IRREG,
        license=licence,
        provenance=f"Harvested from {base_url} (Opendatasoft dataset '{dataset_id}', "
        f"modified {modified}); {publisher}, {default.get('license') or 'CC BY 4.0'}",
        landing_page=f"{base_url}/explore/dataset/{dataset_id}/",
        governance=Governance(
            privacy_class=PrivacyClass.open, personal_data=False, synthetic=False
        ),
    )


def _column(name: str) -> str:
    clean = re.sub(r"[^0-9a-z]+", "_", name.strip().lower().lstrip("\ufeff")).strip("_")
    return clean or "column"


def csv_to_table(path: Path) -> pa.Table:
    """A portal CSV export (';'-separated, UTF-8 with or without BOM) as an Arrow table."""
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", low_memory=False)
    names: list[str] = []
    for raw in frame.columns:
        name = _column(str(raw))
        while name in names:
            name += "_"
        names.append(name)
    frame.columns = names
    return pa.Table.from_pandas(frame, preserve_index=False)


class Harvester:
    """Harvests into one partner's data directory; the caller publishes the descriptions."""

    def __init__(self, data_dir: Path, base_url: str, client: httpx.Client) -> None:
        self.data_dir = data_dir
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.state_path = data_dir / TABLES / STATE
        self.state: dict[str, dict[str, str]] = (
            json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}
        )

    def _get_json(self, url: str) -> Any:
        try:
            resp = self.client.get(url)
        except httpx.HTTPError as exc:
            raise HarvestError(f"portal unreachable: {exc}") from exc
        if resp.status_code == 404:
            raise HarvestError("the portal has no such dataset")
        if resp.status_code != 200:
            raise HarvestError(f"portal answered HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError:
            raise HarvestError("portal metadata is not JSON") from None

    def _download(self, dataset_id: str, target: Path) -> None:
        url = f"{self.base_url}{API}/{dataset_id}/exports/csv"
        try:
            with self.client.stream("GET", url, params={"delimiter": ";"}) as resp:
                if resp.status_code != 200:
                    raise HarvestError(f"export answered HTTP {resp.status_code}")
                with target.open("wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise HarvestError(f"export interrupted: {exc}") from exc

    def harvest_one(self, dataset_id: str) -> HarvestResult:
        """Harvest one dataset (or skip it when unchanged)."""
        if not ID_PATTERN.match(dataset_id):
            return HarvestResult(dataset_id, "failed", detail="not an Opendatasoft dataset id")
        try:
            meta = self._get_json(f"{self.base_url}{API}/{dataset_id}")
            modified = str(meta.get("metas", {}).get("default", {}).get("modified", ""))
            description = describe(meta, self.base_url, modified)
        except (HarvestError, ValueError, KeyError) as exc:
            return HarvestResult(dataset_id, "failed", detail=str(exc))
        rel = f"{TABLES}/{description.id}.parquet"
        path = self.data_dir / rel
        done = self.state.get(dataset_id)
        if (
            done
            and done.get("modified") == modified
            and path.is_file()
            and file_sha256(path) == done.get("sha256")
        ):
            return HarvestResult(
                dataset_id, "unchanged", int(done.get("rows", 0)), description=description
            )
        tmp_csv = path.with_suffix(".csv.part")
        tmp_parquet = path.with_suffix(".parquet.tmp")
        try:
            self._download(dataset_id, tmp_csv)
            try:
                table = csv_to_table(tmp_csv)
            except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise HarvestError(f"the CSV export cannot be read: {exc}") from exc
            pq.write_table(table, tmp_parquet, compression="zstd")
            tmp_parquet.replace(path)  # the old table stays until the new one is complete
        except HarvestError as exc:
            return HarvestResult(dataset_id, "failed", detail=str(exc))
        finally:
            tmp_csv.unlink(missing_ok=True)
            tmp_parquet.unlink(missing_ok=True)
        entry = TableEntry(
            id=description.id,
            title=description.title.best("it"),
            description=description.description.best("it"),
            theme=description.themes[0].value,
            table_path=rel,
            row_count=table.num_rows,
            columns=[{"name": f.name, "type": str(f.type)} for f in table.schema],
            synthetic=False,
            source=description.provenance,
            content_sha256=file_sha256(path),
        )
        self._record(dataset_id, entry, modified)
        return HarvestResult(dataset_id, "harvested", table.num_rows, description=description)

    def _record(self, dataset_id: str, entry: TableEntry, modified: str) -> None:
        # Manifest first, then our state: a crash in between only costs a re-download.
        record_entry(self.data_dir, entry)
        self.state[dataset_id] = {
            "modified": modified,
            "sha256": entry.content_sha256,
            "rows": str(entry.row_count),
            "harvested_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        _write_json(self.state_path, self.state)

    def harvest(
        self, dataset_ids: Sequence[str], progress: Progress | None = None
    ) -> list[HarvestResult]:
        """Harvest each dataset in turn; one failure does not stop the others."""
        (self.data_dir / TABLES).mkdir(parents=True, exist_ok=True)
        results = []
        for dataset_id in dataset_ids:
            if progress:
                progress(dataset_id)
            results.append(self.harvest_one(dataset_id))
        return results


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    tmp.replace(path)


def list_datasets(client: httpx.Client, base_url: str, limit: int = 100) -> list[str]:
    """Every dataset id the portal lists (paged by `offset`)."""
    ids: list[str] = []
    offset = 0
    while True:
        resp = client.get(f"{base_url.rstrip('/')}{API}", params={"limit": limit, "offset": offset})
        resp.raise_for_status()
        page = resp.json()
        ids += [r["dataset_id"] for r in page.get("results", [])]
        offset += limit
        if offset >= int(page.get("total_count", 0)) or not page.get("results"):
            return ids

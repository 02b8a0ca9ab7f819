"""The UK Algorithmic Transparency Recording Standard (ATRS) v3.0, read from its official field
table at run time (`<shared>/standards/atrs/3.0/template_table.md`; never copied here), and a
JSON Schema written from it for the register's exports.

Each field: its reference number, attribute name (the export's key), name, tier (N/A for the
metadata and title), category, type and whether the standard requires it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = "3.0"
RELATIVE = Path("standards") / "atrs" / VERSION / "template_table.md"


@dataclass(frozen=True)
class AtrsField:
    """One row of the ATRS field table."""

    reference: str
    attribute: str
    name: str
    tier: str  # "N/A", "1" or "2"
    category: str
    type: str
    required: bool


class AtrsMissing(FileNotFoundError):
    """The official field table is not where the shared folder should hold it."""


def table_path(shared_dir: Path | None) -> Path:
    """Where the field table is (AtrsMissing, naming the path, when it is absent)."""
    if shared_dir is None or not (shared_dir / RELATIVE).is_file():
        where = shared_dir / RELATIVE if shared_dir else RELATIVE
        raise AtrsMissing(f"the ATRS {VERSION} field table is not at {where}")
    return shared_dir / RELATIVE


def _cell(text: str) -> str:
    return re.sub(r"<br\s*/?>", " ", text).replace("\\*", "*").strip()


def read_fields(path: Path) -> list[AtrsField]:
    """Every field of the table, in its order (a field repeated under two headings, such as
    `phase`, is kept once: the export is one object per record)."""
    fields: list[AtrsField] = []
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [_cell(c) for c in line.strip().strip("|").split("|")]
        if len(cells) < 8 or not re.fullmatch(r"\d+(\.\d+)*", cells[0]):
            continue
        reference, attribute, name, tier, category, kind, _notes, required = cells[:8]
        if attribute in seen:
            continue
        seen.add(attribute)
        fields.append(AtrsField(reference, attribute, name, tier, category, kind,
                                required.upper() == "TRUE"))  # fmt: skip
    if not fields:
        raise AtrsMissing(f"{path} holds no ATRS field rows")
    return fields


def json_schema(fields: list[AtrsField]) -> dict[str, Any]:
    """A JSON Schema (2020-12) for one record: every attribute of the table, its type, and the
    ones the standard requires. Text a person has not written yet is an empty string."""
    day = {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"}  # "" when there is none
    types = {"integer": {"type": "integer"}, "date": day}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://w3id.org/gemello/schemas/atrs-3.0-record.json",
        "title": f"An ATRS {VERSION} record (written from the standard's field table)",
        "type": "object",
        "properties": {
            f.attribute: {
                **types.get(f.type, {"type": "string"}),
                "title": f.name,
                "description": f"ATRS {f.reference} ({f.category}; tier {f.tier})",
            }
            for f in fields
        },
        "required": [f.attribute for f in fields if f.required],
        "additionalProperties": False,
    }

"""Bologna's statistical areas as bounding boxes, to turn "Navile" or "12" into a spatial query.

The areas are public reference data every connector can build: the real polygons from the
shared open data when present, otherwise the same seeded stand-ins the comune publishes.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from catalog.model import BBox
from connector.errors import BadRequest
from connector.partnerdata.prepare import build_table
from connector.partnerdata.specs import partner_specs
from connector.settings import Settings


@dataclass(frozen=True)
class Area:
    """One statistical area."""

    code: int
    name: str
    zone: str
    district: str
    bbox: BBox
    # Outer rings (lon, lat) of its polygons, for maps; holes are not needed to colour an area.
    outline: tuple[tuple[tuple[float, float], ...], ...] = ()


def _outline(geometry: str) -> tuple[tuple[tuple[float, float], ...], ...]:
    geo = json.loads(geometry)
    polygons = {"Polygon": [geo["coordinates"]], "MultiPolygon": geo["coordinates"]}.get(
        geo["type"], []
    )
    return tuple(tuple((float(x), float(y)) for x, y, *_ in poly[0]) for poly in polygons if poly)


def _bbox(geometry: str) -> BBox:
    geo = json.loads(geometry)
    points: list[list[float]] = []
    stack = [geo["coordinates"]]
    while stack:
        item = stack.pop()
        if item and isinstance(item[0], int | float):
            points.append(item)
        else:
            stack.extend(item)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return BBox(west=min(xs), south=min(ys), east=max(xs), north=max(ys))


class Gazetteer:
    """Look up areas by code or by (part of) their area, zone or district name."""

    def __init__(self, areas: list[Area]) -> None:
        self.areas = areas

    @classmethod
    def for_settings(cls, settings: Settings) -> Gazetteer:
        """Build from the comune's statistical-areas table (real or seeded)."""
        spec = next(s for s in partner_specs("comune") if s.id == "statistical-areas")
        table = build_table(spec, "comune", settings.bologna_dir, settings.synthetic_seed)
        return cls(
            [
                Area(
                    code=int(row["area_code"]),
                    name=str(row["area_name"]),
                    zone=str(row["zone"]),
                    district=str(row["district"]),
                    bbox=_bbox(row["geometry"]),
                    outline=_outline(row["geometry"]),
                )
                for row in table.to_pylist()
            ]
        )

    @classmethod
    def cached(cls, settings: Settings) -> Gazetteer:
        """`for_settings`, read once per settings in a process (the areas do not change while
        a connector runs)."""
        return _cached(settings)

    def lookup(self, term: str) -> list[Area]:
        """Areas matching a code or a name; BadRequest when nothing matches."""
        term = term.strip()
        if term.isdigit():
            found = [a for a in self.areas if a.code == int(term)]
        else:
            low = term.lower()
            found = [
                a
                for a in self.areas
                if low in a.name.lower() or low == a.zone.lower() or low == a.district.lower()
            ]
        if not found:
            raise BadRequest(
                f"no statistical area matches '{term}' (give an area code, or part of an area "
                "name, or a zone or district name)"
            )
        return found


@functools.lru_cache(maxsize=8)
def _cached(settings: Settings) -> Gazetteer:
    return Gazetteer.for_settings(settings)

"""Maps of Bologna's 90 statistical areas drawn from their own geometry (the comune's gazetteer),
as SVG paths computed here once: no tile server, no map library, nothing from the internet.

The projection is equirectangular around the city's mean latitude (at this scale the error is
well under a pixel); coordinates are rounded to whole pixels, repeated and collinear points
dropped, and steps written relative, which keeps the 23,000 vertices small to send.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from connector.gateway.gazetteer import Gazetteer
from connector.settings import Settings

WIDTH = 640


@dataclass(frozen=True)
class MapArea:
    """One statistical area as the map draws it."""

    code: int
    name: str
    district: str
    d: str  # the SVG path


@dataclass(frozen=True)
class CityMap:
    """The areas in a `width` x `height` SVG frame."""

    width: int
    height: int
    areas: tuple[MapArea, ...]


def draw(places: Gazetteer, width: int = WIDTH) -> CityMap:
    """Project every area's outline into an SVG frame `width` pixels wide."""
    xs = [x for a in places.areas for ring in a.outline for x, _ in ring]
    ys = [y for a in places.areas for ring in a.outline for _, y in ring]
    if not xs:
        return CityMap(width, 1, ())
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = (width - 2) / ((east - west) * squeeze or 1)
    height = math.ceil((north - south) * scale) + 2

    def point(x: float, y: float) -> tuple[int, int]:
        return round((x - west) * squeeze * scale + 1), round((north - y) * scale + 1)

    out = []
    for a in sorted(places.areas, key=lambda a: a.code):
        parts = []
        for ring in a.outline:
            pts: list[tuple[int, int]] = []
            for x, y in ring:
                p = point(x, y)
                if pts and p == pts[-1]:
                    continue
                if len(pts) >= 2 and _collinear(pts[-2], pts[-1], p):
                    pts[-1] = p  # the middle point adds nothing at this resolution
                else:
                    pts.append(p)
            if len(pts) >= 3:
                steps = "l" + " ".join(
                    f"{b[0] - a_[0]},{b[1] - a_[1]}" for a_, b in zip(pts, pts[1:], strict=False)
                )
                parts.append(f"M{pts[0][0]},{pts[0][1]}{steps}z")
        out.append(MapArea(a.code, a.name, a.district, "".join(parts)))
    return CityMap(width, height, tuple(out))


def _collinear(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]) -> bool:
    return (b[0] - a[0]) * (c[1] - a[1]) == (b[1] - a[1]) * (c[0] - a[0])


@functools.lru_cache(maxsize=8)
def city_map(settings: Settings) -> CityMap:
    """The map for a connector's gazetteer, drawn once per process."""
    return draw(Gazetteer.cached(settings))

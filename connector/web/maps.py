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
from connector.web.i18n import number

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


CLASSES = 7  # colour classes of a choropleth (CSS .q0 … .q6 and .d0 … .d6)


@dataclass(frozen=True)
class Shaded:
    """One area of a choropleth: its path, colour class and the value as text."""

    code: int
    name: str
    district: str
    d: str
    shade: str  # a CSS class: q0…q6 (low to high), d0…d6 (negative to positive), none
    value: str


@dataclass(frozen=True)
class Choropleth:
    """A map of one value per area, with its legend (class, range as text)."""

    width: int
    height: int
    areas: tuple[Shaded, ...]
    legend: tuple[tuple[str, str], ...]


def choropleth(
    city: CityMap,
    values: dict[int, float | None],
    unit: str,
    diverging: bool,
    digits: int = 0,
    lang: str = "en",
) -> Choropleth:
    """Colour each area by its value in equal steps: from the lowest to the highest value, or
    for a change symmetric around zero (white in the middle). Areas without a value are grey."""
    known = [v for v in values.values() if v is not None and math.isfinite(v)]
    if diverging:
        reach = max((abs(v) for v in known), default=0.0) or 1.0
        low, high = -reach, reach
    else:
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        if high <= low:
            high = low + 1.0
    prefix = "d" if diverging else "q"
    step = (high - low) / CLASSES

    def fmt(v: float) -> str:
        return number(v, digits, lang, sign=diverging)

    shaded = []
    for a in city.areas:
        v = values.get(a.code)
        if v is None or not math.isfinite(v):
            shaded.append(Shaded(a.code, a.name, a.district, a.d, "none", "—"))
            continue
        k = min(int((v - low) / step), CLASSES - 1)
        shaded.append(Shaded(a.code, a.name, a.district, a.d, f"{prefix}{k}", f"{fmt(v)} {unit}"))
    legend = tuple(
        (f"{prefix}{k}", f"{fmt(low + k * step)} … {fmt(low + (k + 1) * step)} {unit}")
        for k in range(CLASSES)
    )
    return Choropleth(city.width, city.height, tuple(shaded), legend)

"""A job's outputs as people read them: figures per statistical area (baseline, scenario and
change, with words and units), headline figures, and chart series; then the same as CSV and as
GeoJSON of the areas. The console's result pages draw from this, and so can any other face.

Each model's outputs are arrays named for code (`vkm_base`, `exceed_h_scen`); here they get
names in Italian and English and their units, and are cut into what a planner asks for: one
value per area, one line per run. Nothing is computed that the result did not release.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connector.compute import wire
from connector.gateway.gazetteer import Area
from models.cards import Words

BASE = Words("base", "baseline")
SCEN = Words("scenario", "scenario")
MONTHS = Words("gen feb mar apr mag giu lug ago set ott nov dic",
               "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")  # fmt: skip


@dataclass(frozen=True)
class AreaFigure:
    """One value per statistical area (index = area code - 1), in both runs."""

    key: str
    label: Words
    unit: str
    baseline: np.ndarray | None
    scenario: np.ndarray
    # How areas add up to a district: "sum", "max", "min", "mean" (of the areas' values), or
    # "ratio" of two other figures' sums.
    total: str = "sum"
    ratio: tuple[str, str] | None = None
    digits: int = 0

    @property
    def change(self) -> np.ndarray | None:
        """Scenario minus baseline, per area."""
        return None if self.baseline is None else self.scenario - self.baseline


@dataclass(frozen=True)
class Series:
    """One line (or set of bars) of a chart."""

    label: Words
    values: list[float]
    run: str = "scenario"  # baseline or scenario: drawn solid or dashed


@dataclass(frozen=True)
class Chart:
    """A chart: its title, axes in words and units, the x positions and the series."""

    key: str
    title: Words
    x_label: Words
    y_label: Words
    x: list[Any]
    series: list[Series]
    kind: str = "line"  # line, bar, step


@dataclass(frozen=True)
class Headline:
    """A headline figure in both runs."""

    label: Words
    unit: str
    baseline: float | None
    scenario: float | None
    digits: int = 0


@dataclass
class Reading:
    """A result in words: headline figures, per-area figures, charts, and what was noised."""

    headline: list[Headline] = field(default_factory=list)
    areas: list[AreaFigure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    # output name (as holders report noise) -> the figure it feeds, in words
    outputs: dict[str, Words] = field(default_factory=dict)

    def area(self, key: str) -> AreaFigure:
        """A per-area figure by key."""
        return next(a for a in self.areas if a.key == key)


def _arr(out: dict[str, Any], key: str) -> np.ndarray:
    return np.asarray(out[key], dtype=np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _mobility(out: dict[str, Any], params: dict[str, Any]) -> Reading:
    r = Reading()
    vkm = {t: _arr(out, f"vkm_{t}") for t in ("base", "scen")}
    vht = {t: _arr(out, f"vht_{t}") for t in ("base", "scen")}
    day_km = {t: np.nansum(v, axis=1) for t, v in vkm.items()}
    day_h = {t: np.nansum(v, axis=1) for t, v in vht.items()}
    r.areas = [
        AreaFigure("speed", Words("velocità media", "mean speed"), "km/h",
                   _ratio(day_km["base"], day_h["base"]), _ratio(day_km["scen"], day_h["scen"]),
                   total="ratio", ratio=("vkm", "vht"), digits=1),
        AreaFigure("vht", Words("ore-veicolo al giorno (tempo in viaggio)",
                                "vehicle-hours a day (time spent travelling)"), "h",
                   day_h["base"], day_h["scen"]),
        AreaFigure("vkm", Words("veicoli-km al giorno", "vehicle-km a day"), "km",
                   day_km["base"], day_km["scen"]),
    ]  # fmt: skip
    tot_km = {t: float(np.nansum(v)) for t, v in day_km.items()}
    tot_h = {t: float(np.nansum(v)) for t, v in day_h.items()}
    r.headline = [
        Headline(Words("veicoli-km al giorno", "vehicle-km a day"), "km",
                 tot_km["base"], tot_km["scen"]),
        Headline(Words("ore-veicolo al giorno", "vehicle-hours a day"), "h",
                 tot_h["base"], tot_h["scen"]),
        Headline(Words("velocità media della rete", "network mean speed"), "km/h",
                 tot_km["base"] / tot_h["base"] if tot_h["base"] else None,
                 tot_km["scen"] / tot_h["scen"] if tot_h["scen"] else None, digits=1),
    ]  # fmt: skip
    hours = list(range(vkm["base"].shape[1]))
    speed = {t: _ratio(np.nansum(vkm[t], axis=0), np.nansum(vht[t], axis=0)) for t in vkm}
    r.charts.append(
        Chart("speed-by-hour", Words("Velocità media della rete, ora per ora",
                                     "Network mean speed, hour by hour"),
              Words("ora del giorno", "hour of the day"), Words("km/h", "km/h"), hours,
              [Series(BASE, _list(speed["base"]), "baseline"), Series(SCEN, _list(speed["scen"]))])
    )  # fmt: skip
    r.charts.append(
        Chart("vkm-by-hour", Words("Veicoli-km, ora per ora", "Vehicle-km, hour by hour"),
              Words("ora del giorno", "hour of the day"), Words("veicoli-km", "vehicle-km"), hours,
              [Series(BASE, _list(np.nansum(vkm["base"], axis=0)), "baseline"),
               Series(SCEN, _list(np.nansum(vkm["scen"], axis=0)))])
    )  # fmt: skip
    fit: dict[str, Any] = next(iter(out.get("calibration") or []), {})
    by_class: dict[str, list[float]] = fit.get("vkm_by_class") or {}
    if by_class:
        names = list(by_class)
        r.charts.append(
            Chart("vkm-by-class", Words("Veicoli-km per classe di strada",
                                        "Vehicle-km by road class"),
                  Words("classe di strada", "road class"),
                  Words("veicoli-km al giorno", "vehicle-km a day"), names,
                  [Series(BASE, [float(by_class[n][0]) for n in names], "baseline"),
                   Series(SCEN, [float(by_class[n][1]) for n in names])], kind="bar")
        )  # fmt: skip
    if "tt_centre_base" in out:  # travel times at the busiest simulated hour (model 1.3)
        peak = fit.get("peak_hour")
        at = f" ({peak}:00)" if isinstance(peak, int) else ""
        r.areas += [
            AreaFigure("tt_centre", Words(f"tempo di viaggio verso il centro, ora più carica{at}",
                                          f"travel time to the centre, busiest hour{at}"), "min",
                       _arr(out, "tt_centre_base"), _arr(out, "tt_centre_scen"), total="mean",
                       digits=1),
            AreaFigure("tt_out", Words(f"durata media degli spostamenti in partenza{at}",
                                       f"mean time of the trips leaving the area{at}"), "min",
                       _arr(out, "tt_out_base"), _arr(out, "tt_out_scen"), total="mean",
                       digits=1),
        ]  # fmt: skip
        by_district: dict[str, list[float | None]] = fit.get("minutes_to_centre") or {}
        if by_district:
            names = list(by_district)
            r.charts.append(
                Chart("minutes-to-centre",
                      Words(f"Tempo di viaggio verso il centro nell'ora più carica{at}, per "
                            "quartiere",
                            f"Travel time to the centre in the busiest hour{at}, by district"),
                      Words("quartiere di partenza", "district of departure"),
                      Words("minuti", "minutes"), names,
                      [Series(BASE, _list([by_district[n][0] for n in names]), "baseline"),
                       Series(SCEN, _list([by_district[n][1] for n in names]))], kind="bar")
            )  # fmt: skip
    fit_words = {
        "holdout_correlation": Words("correlazione, spire escluse", "correlation, held-out loops"),
        "loop_correlation": Words("correlazione con le spire", "correlation with the loop counts"),
    }  # fmt: skip
    for key, words in fit_words.items():
        if isinstance(fit.get(key), int | float):
            r.headline.append(Headline(words, "", None, float(fit[key]), digits=2))
    del params
    return r


def _flood(out: dict[str, Any], params: dict[str, Any]) -> Reading:
    from models.flood import OUTLETS

    r = Reading()
    step_min = int(params.get("step_minutes", 60))
    alarm = params.get("threshold_m3s_km2")
    level = f" ({alarm:g} m³/s/km²)" if isinstance(alarm, int | float) else ""
    r.areas = [
        AreaFigure("alarm-hours", Words(f"ore sopra la soglia d'allarme{level}",
                                        f"hours above the alarm level{level}"), "h",
                   _arr(out, "exceed_h_base"), _arr(out, "exceed_h_scen"), total="max", digits=1),
    ]  # fmt: skip
    if "first_alarm_h_scen" in out:  # which areas flood first, and how close the others came
        r.areas += [
            AreaFigure("first-alarm", Words("prima ora sopra la soglia (ore dall'inizio)",
                                            "first hour above the alarm (hours from the start)"),
                       "h", _arr(out, "first_alarm_h_base"), _arr(out, "first_alarm_h_scen"),
                       total="min", digits=0),
            AreaFigure("peak-specific", Words("portata specifica al colmo",
                                              "peak specific discharge"), "m³/s/km²",
                       _arr(out, "peak_q_base"), _arr(out, "peak_q_scen"), total="max",
                       digits=2),
        ]  # fmt: skip
    hb, hs = _arr(out, "exceed_h_base"), _arr(out, "exceed_h_scen")
    r.headline = [
        Headline(Words("aree sopra la soglia d'allarme", "areas above the alarm level"), "",
                 float((hb > 0).sum()), float((hs > 0).sum())),
    ]  # fmt: skip
    pb, ps = _arr(out, "peak_base"), _arr(out, "peak_scen")
    for i, name in enumerate(OUTLETS):
        r.headline.append(
            Headline(Words(f"portata al colmo, {name}", f"peak flow, {name}"), "m³/s",
                     float(pb[i]), float(ps[i]), digits=1)
        )  # fmt: skip
    base, scen = _arr(out, "outlet_base"), _arr(out, "outlet_scen")
    start = params.get("start")
    steps = base.shape[1]
    if start:
        when = np.datetime64(str(start), "m") + np.arange(steps) * np.timedelta64(step_min, "m")
        x: list[Any] = [str(t).replace("T", " ") for t in when]
    else:
        x = list(range(steps))
    for i, name in enumerate(OUTLETS):
        r.charts.append(
            Chart(f"hydrograph-{i}", Words(f"Idrogramma: {name}", f"Hydrograph: {name}"),
                  Words("tempo", "time"), Words("portata, m³/s", "flow, m³/s"), x,
                  [Series(BASE, _list(base[i]), "baseline"), Series(SCEN, _list(scen[i]))])
        )  # fmt: skip
    if "rain" in out:
        rain = _arr(out, "rain") * (60 / step_min)
        r.charts.insert(
            0,
            Chart("rain", Words("Pioggia (scenario di base)", "Rain (baseline)"),
                  Words("tempo", "time"), Words("pioggia, mm/h", "rain, mm/h"), x,
                  [Series(Words("pioggia", "rain"), _list(rain), "baseline")], kind="bar"),
        )  # fmt: skip
    return r


def _typical(values: np.ndarray) -> np.ndarray:
    """areas x 12 months x 24 hours, from either output shape of the energy model."""
    from models.common import month_of_hours
    from models.energy import by_month_hour

    if values.ndim == 3:
        return values
    days = values.shape[1] // 24
    return by_month_hour(values, month_of_hours(2024 if days == 366 else 2023)[1])


def _energy(out: dict[str, Any], params: dict[str, Any]) -> Reading:
    r = Reading()
    year = {k: np.nansum(_typical(_arr(out, k)), axis=(1, 2)) / 1000.0
            for k in ("heat_base", "heat_scen", "cool_base", "cool_scen")}  # fmt: skip
    r.areas = [
        AreaFigure("demand", Words("fabbisogno di riscaldamento e raffrescamento",
                                   "heating and cooling demand"), "MWh/anno·year",
                   year["heat_base"] + year["cool_base"], year["heat_scen"] + year["cool_scen"]),
        AreaFigure("heating", Words("fabbisogno di riscaldamento", "heating demand"),
                   "MWh/anno·year", year["heat_base"], year["heat_scen"]),
        AreaFigure("cooling", Words("fabbisogno di raffrescamento", "cooling demand"),
                   "MWh/anno·year", year["cool_base"], year["cool_scen"]),
    ]  # fmt: skip
    r.headline = [
        Headline(Words("riscaldamento", "heating"), "MWh",
                 float(year["heat_base"].sum()), float(year["heat_scen"].sum())),
        Headline(Words("raffrescamento", "cooling"), "MWh",
                 float(year["cool_base"].sum()), float(year["cool_scen"].sum())),
    ]  # fmt: skip
    if "buildings" in out:
        r.headline.append(Headline(Words("edifici simulati", "buildings simulated"), "", None,
                                   float(out["buildings"])))  # fmt: skip
    months = MONTHS.it.split(), MONTHS.en.split()
    monthly = {k: np.nansum(_typical(_arr(out, k)), axis=(0, 2)) / 1000.0
               for k in ("heat_base", "heat_scen", "cool_base", "cool_scen")}  # fmt: skip
    r.charts.append(
        Chart("monthly", Words("Fabbisogno mese per mese", "Demand month by month"),
              Words("mese", "month"), Words("MWh al mese", "MWh a month"), list(months[1]),
              [Series(Words("riscaldamento, base", "heating, baseline"),
                      _list(monthly["heat_base"]), "baseline"),
               Series(Words("riscaldamento, scenario", "heating, scenario"),
                      _list(monthly["heat_scen"])),
               Series(Words("raffrescamento, base", "cooling, baseline"),
                      _list(monthly["cool_base"]), "baseline"),
               Series(Words("raffrescamento, scenario", "cooling, scenario"),
                      _list(monthly["cool_scen"]))])
    )  # fmt: skip
    if np.ndim(out["heat_base"]) == 2:  # hourly: the load duration curve
        curves = []
        for tag, words in (("base", BASE), ("scen", SCEN)):
            hours = np.sort(np.nansum(_arr(out, f"heat_{tag}"), axis=0))[::-1] / 1000.0
            keep = np.unique(np.linspace(0, len(hours) - 1, 200).astype(int))
            curves.append(
                Series(words, _list(hours[keep]), "baseline" if tag == "base" else "scenario")
            )
        x = [
            int(i)
            for i in np.unique(np.linspace(0, np.shape(out["heat_base"])[1] - 1, 200).astype(int))
        ]
        r.charts.append(
            Chart("load-duration", Words("Curva di durata del carico termico",
                                         "Heating load duration curve"),
                  Words("ore dell'anno, dalla più richiesta", "hours of the year, highest first"),
                  Words("MW (tutta la città)", "MW (city-wide)"), x, curves)
        )  # fmt: skip
    r.outputs = {
        "area_base": Words("fabbisogno per area (base)", "demand per area (baseline)"),
        "area_saving": Words("risparmio per area", "saving per area"),
        "profile": Words("profili orari della città", "city hourly profiles"),
        "archetype_saving": Words("risparmio per tipologia", "saving per archetype"),
        "archetype_cost": Words(
            "costo della riqualificazione per tipologia", "retrofit cost per archetype"
        ),  # fmt: skip
        "sweep_saving": Words(
            "risparmio per area, per punto della serie", "saving per area, per point of the sweep"
        ),  # fmt: skip
    }
    del params
    return r


def _gravity(out: dict[str, Any], params: dict[str, Any]) -> Reading:
    r = Reading()
    systems = out.get("systems") or []
    r.headline = [
        Headline(Words("decadimento con la distanza (beta)", "distance decay (beta)"), "1/km",
                 None, float(out["beta_per_km"]), digits=4)
    ]  # fmt: skip
    if systems:
        names = [str(s["system"]) for s in systems]
        r.charts.append(
            Chart("trip-length", Words("Lunghezza media dei viaggi", "Mean trip length"),
                  Words("sistema di zone", "zone system"), Words("km", "km"), names,
                  [Series(Words("osservata", "observed"),
                          [float(s["mean_km_observed"]) for s in systems], "baseline"),
                   Series(Words("stimata", "fitted"),
                          [float(s["mean_km_fitted"]) for s in systems])], kind="bar")
        )  # fmt: skip
    r.outputs = {
        "production": Words("partenze per zona", "trips leaving each zone"),
        "attraction": Words("arrivi per zona", "trips arriving in each zone"),
        "cost": Words("distanza totale percorsa", "total distance travelled"),
    }
    del params
    return r


def _list(values: Any) -> list[float]:
    return [float(v) if np.isfinite(v) else float("nan") for v in np.asarray(values, dtype=float)]


READERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Reading]] = {
    "mobility-ctm": _mobility,
    "flood-scs-nash": _flood,
    "energy-5r1c": _energy,
    "mobility-gravity": _gravity,
}


def read(model: str, params: dict[str, Any], outputs: dict[str, Any] | None) -> Reading:
    """A job's outputs (wire-encoded, as stored) in words; empty for an unknown model or a job
    without outputs."""
    reader = READERS.get(model)
    if reader is None or not outputs:
        return Reading()
    return reader(wire.decode_value(outputs), dict(params or {}))


# --- districts, tables and files --------------------------------------------------------------


def by_district(reading: Reading, areas: Sequence[Area]) -> list[dict[str, Any]]:
    """Each district (quartiere) with each figure added up over its areas: a sum, the
    highest or lowest value, the mean of the areas' values (a travel time), or the ratio of two
    sums (a mean speed is vehicle-km over vehicle-hours)."""
    groups: dict[str, list[int]] = {}
    for a in areas:
        if 1 <= a.code <= 90:
            groups.setdefault(a.district, []).append(a.code - 1)
    sums = {f.key: f for f in reading.areas}
    rows = []
    for district, idx in sorted(groups.items()):
        row: dict[str, Any] = {"district": district, "areas": len(idx)}
        for f in reading.areas:
            for run, values in (("baseline", f.baseline), ("scenario", f.scenario)):
                if values is None:
                    row[f"{f.key}.{run}"] = None
                    continue
                if f.total == "ratio" and f.ratio:
                    num, den = (sums[k].baseline if run == "baseline" else sums[k].scenario
                                for k in f.ratio)  # fmt: skip
                    n, d = float(np.nansum(num[idx])), float(np.nansum(den[idx]))  # type: ignore[index]
                    row[f"{f.key}.{run}"] = n / d if d else None
                elif f.total == "mean":  # a time: the plain mean of the district's areas
                    picked = values[idx]
                    row[f"{f.key}.{run}"] = (
                        float(np.nanmean(picked)) if np.isfinite(picked).any() else None
                    )
                elif f.total in ("max", "min"):
                    picked = values[idx]
                    pick = np.nanmax if f.total == "max" else np.nanmin
                    row[f"{f.key}.{run}"] = (
                        float(pick(picked)) if np.isfinite(picked).any() else None
                    )
                else:
                    row[f"{f.key}.{run}"] = float(np.nansum(values[idx]))
            b, s = row[f"{f.key}.baseline"], row[f"{f.key}.scenario"]
            row[f"{f.key}.change"] = s - b if b is not None and s is not None else None
        rows.append(row)
    return rows


def _cell(v: float | None, digits: int) -> str:
    if v is None or not np.isfinite(v):
        return ""
    return f"{v:.{digits}f}"


def area_rows(reading: Reading, areas: Sequence[Area]) -> list[dict[str, Any]]:
    """Every statistical area, by code, with its name, district and every figure."""
    rows = []
    for a in sorted(areas, key=lambda a: a.code):
        if not 1 <= a.code <= 90:
            continue
        i = a.code - 1
        row: dict[str, Any] = {"code": a.code, "name": a.name, "district": a.district}
        for f in reading.areas:
            change = f.change
            row[f"{f.key}.baseline"] = None if f.baseline is None else _num(f.baseline[i])
            row[f"{f.key}.scenario"] = _num(f.scenario[i])
            row[f"{f.key}.change"] = None if change is None else _num(change[i])
        rows.append(row)
    return rows


def _num(v: Any) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def columns(reading: Reading, lang: str) -> list[tuple[str, str, int]]:
    """(row key, heading with unit, digits) for each figure's baseline, scenario and change."""
    out = []
    for f in reading.areas:
        runs = ((("baseline", BASE), ("scenario", SCEN), ("change", Words("variazione", "change")))
                if f.baseline is not None else (("scenario", SCEN),))  # fmt: skip
        for run, words in runs:
            out.append((f"{f.key}.{run}", f"{f.label(lang)}, {words(lang)} ({f.unit})", f.digits))
    return out


def to_csv(reading: Reading, areas: Sequence[Area], lang: str) -> str:
    """Every area as one CSV row: code, name, district, then each figure with its unit."""
    cols = columns(reading, lang)
    buf = io.StringIO()
    w = csv.writer(buf)
    names = ("codice", "area", "quartiere") if lang == "it" else ("code", "area", "district")
    w.writerow([*names, *(h for _, h, _ in cols)])
    for row in area_rows(reading, areas):
        w.writerow([row["code"], row["name"], row["district"],
                    *(_cell(row[k], d + 1) for k, _, d in cols)])  # fmt: skip
    return buf.getvalue()


def to_geojson(reading: Reading, areas: Sequence[Area], lang: str) -> dict[str, Any]:
    """The statistical areas as a GeoJSON FeatureCollection (WGS 84 lon/lat outlines), with
    each figure's baseline, scenario and change as properties named in words."""
    cols = columns(reading, lang)
    by_code = {r["code"]: r for r in area_rows(reading, areas)}
    features = []
    for a in sorted(areas, key=lambda a: a.code):
        row = by_code.get(a.code)
        if row is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": a.code,
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[list(p) for p in ring]] for ring in a.outline],
                },
                "properties": {"code": a.code, "name": a.name, "district": a.district}
                | {h: row[k] for k, h, _ in cols},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def geojson_text(reading: Reading, areas: Sequence[Area], lang: str) -> str:
    """`to_geojson` as compact JSON text."""
    return json.dumps(to_geojson(reading, areas, lang), ensure_ascii=False, separators=(",", ":"))

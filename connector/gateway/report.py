"""A job's result as a short HTML report: headline figures, plots (SVG), provenance, holders.

Plots and maps are drawn with matplotlib (figures without pyplot) into inline SVG, so a report
is one file that opens anywhere and can be archived with the result. Maps colour the
statistical areas' outlines from the gazetteer, when the caller passes them.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from connector.compute import wire
from connector.gateway.headline import figure_grid, figure_text
from models.cards import card

if TYPE_CHECKING:
    from connector.gateway.gazetteer import Area

MONTHS = "JFMAMJJASOND"
TOP_AREAS = 10  # rows in a report's "most affected areas" table


@dataclass(frozen=True)
class ReportContext:
    """What a model's section needs besides its outputs: the job's parameters (the period and
    step of a hydrograph) and the statistical areas' names and outlines (maps), when known."""

    params: dict[str, Any] = field(default_factory=dict)
    areas: Sequence[Area] = ()


def _figure(fig: Figure) -> str:
    return f"<figure>{_svg(fig)}</figure>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="data">{cap}<tr>{head}</tr>{body}</table>'


def _names(ctx: ReportContext) -> dict[int, str]:
    """Row index in the models' area arrays -> the area's name (its code when unknown)."""
    from models.common import AREAS

    known = {a.code: a.name for a in ctx.areas}
    return {i: known.get(int(code), f"area {int(code)}") for i, code in enumerate(AREAS)}


def _top_areas(
    ctx: ReportContext,
    rank: np.ndarray,
    headers: Sequence[str],
    cells: Callable[[int], Sequence[str]],
    caption: str,
) -> list[str]:
    """A table of the TOP_AREAS areas ranked highest by `rank` (those above 0), by name;
    `cells(i)` gives the columns after the name, `caption` may use {n}."""
    names = _names(ctx)
    order = np.argsort(-np.nan_to_num(rank, nan=-np.inf), kind="stable")[:TOP_AREAS]
    rows = [(names[i], *cells(i)) for i in order if rank[i] > 0]
    return [_table(headers, rows, caption.format(n=len(rows)))] if rows else []


def _area_maps(
    ctx: ReportContext,
    panels: Sequence[tuple[str, np.ndarray]],
    label: str,
    diverging: bool = False,
) -> list[str]:
    """Choropleth maps of per-area values (one panel each, one colour scale) as one figure, or
    none when the areas' outlines are not known. Areas without a value are drawn grey."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize, TwoSlopeNorm

    from models.common import area_index

    if not any(a.outline for a in ctx.areas):
        return []
    rows = area_index(np.array([a.code for a in ctx.areas]))
    finite = np.concatenate([v[np.isfinite(v)] for _, v in panels] + [np.zeros(0)])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if diverging:
        reach = max(abs(low), abs(high), 1e-9)
        norm: Normalize = TwoSlopeNorm(0.0, -reach, reach)
        cmap = "RdBu_r"
    else:
        norm, cmap = Normalize(low, high if high > low else low + 1.0), "YlOrRd"
    fig, axes = _subplots(len(panels), figsize=(3.6 * len(panels) + 0.8, 3.6))
    axes = np.atleast_1d(axes)
    coloured: Any = None
    for ax, (title, values) in zip(axes, panels, strict=True):
        shapes: list[Any] = []
        grey: list[Any] = []
        vals: list[float] = []
        for area, row in zip(ctx.areas, rows, strict=True):
            value = values[row] if row >= 0 else np.nan
            if np.isfinite(value):
                shapes += area.outline
                vals += [float(value)] * len(area.outline)
            else:
                grey += area.outline
        ax.add_collection(PolyCollection(grey, facecolors="#ddd", edgecolors="white", lw=0.3))
        coloured = PolyCollection(
            shapes, array=np.asarray(vals), cmap=cmap, norm=norm, edgecolors="white", lw=0.3
        )
        ax.add_collection(coloured)
        ax.autoscale_view()
        ax.set_aspect(1 / np.cos(np.radians(44.5)))  # degrees of longitude are shorter here
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    fig.colorbar(coloured, ax=list(axes), shrink=0.8, label=label)
    return [_figure(fig)]


def _subplots(ncols: int = 1, figsize: tuple[float, float] = (7, 3.2)) -> tuple[Figure, Any]:
    # Figures made without pyplot: no global state, so reports can be drawn in several
    # request threads at once.
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(1, ncols)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _energy(out: dict[str, Any], ctx: ReportContext | None = None) -> list[str]:
    """Monthly totals, savings per area (bars and a map); with hourly results also the load
    duration curve (the year's hours sorted by city-wide heating demand: the peak and how long
    it lasts)."""
    from models.common import month_of_hours
    from models.energy import by_month_hour

    ctx = ctx or ReportContext()

    def typical_days(values: Any) -> np.ndarray:
        a = np.asarray(values, dtype=np.float64)
        if a.ndim == 3:  # areas x 12 months x 24 hours already
            return a
        days = a.shape[1] // 24  # areas x hours: any year with as many days has the same months
        return by_month_hour(a, month_of_hours(2024 if days == 366 else 2023)[1])

    fig, ax = _subplots(figsize=(7, 3.2))
    for key, label, style in (
        ("heat_base", "heating, baseline", "-"),
        ("heat_scen", "heating, scenario", "--"),
        ("cool_base", "cooling, baseline", "-"),
        ("cool_scen", "cooling, scenario", "--"),
    ):
        monthly = np.nansum(typical_days(out[key]), axis=(0, 2)) / 1000.0
        ax.plot(range(12), monthly, style, marker="o", label=label)
    ax.set_xticks(range(12), list(MONTHS))
    ax.set_ylabel("MWh per month")
    ax.set_title("Building stock: heating and cooling demand")
    ax.legend(fontsize=8)
    fig2, ax2 = _subplots(figsize=(7, 3.2))
    saving = np.nansum(typical_days(out["savings"]), axis=(1, 2)) / 1000.0
    ax2.bar(np.arange(1, len(saving) + 1), saving)
    ax2.set_xlabel("statistical area")
    ax2.set_ylabel("MWh a year saved")
    ax2.set_title("Savings against the baseline, per statistical area")
    parts = [_figure(fig), _figure(fig2)]
    demand = sum(np.nansum(typical_days(out[k]), axis=(1, 2)) for k in ("heat_base", "cool_base"))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(demand > 0, 100.0 * saving * 1000.0 / demand, np.nan)
    parts += _area_maps(ctx, [("heating and cooling saved", share)], "% of the baseline")
    parts += _top_areas(
        ctx,
        saving,
        ("area", "MWh a year saved", "% of its baseline"),
        lambda i: (f"{saving[i]:,.0f}", f"{share[i]:.1f}"),
        "The {n} areas that save most",
    )
    if np.ndim(out["heat_base"]) == 2:
        fig3, ax3 = _subplots(figsize=(7, 3.2))
        for tag, label, style in (("base", "baseline", "-"), ("scen", "scenario", "--")):
            hours = np.sort(np.nansum(np.asarray(out[f"heat_{tag}"]), axis=0))[::-1] / 1000.0
            keep = np.unique(np.linspace(0, len(hours) - 1, 400).astype(int))  # a light SVG
            ax3.plot(keep, hours[keep], style, label=label)
        ax3.set_xlabel("hours of the year, highest demand first")
        ax3.set_ylabel("MW (city-wide heating)")
        ax3.set_title("Heating load duration curve")
        ax3.legend(fontsize=8)
        parts.append(_figure(fig3))
    return parts


def _flood(out: dict[str, Any], ctx: ReportContext | None = None) -> list[str]:
    """Outlet hydrographs under the rain (dates on the axis when the period is known), peak and
    time to peak per outlet, and hours above the alarm level per area (maps and a table)."""
    from models.flood import OUTLETS

    ctx = ctx or ReportContext()
    base, scen = np.asarray(out["outlet_base"]), np.asarray(out["outlet_scen"])
    steps = base.shape[1]
    step_min = int(ctx.params.get("step_minutes", 60))
    start = ctx.params.get("start")
    when: np.ndarray = (
        np.datetime64(str(start), "m") + np.arange(steps) * np.timedelta64(step_min, "m")
        if start
        else np.arange(steps)
    )
    fig, ax = _subplots(figsize=(7, 3.6))
    for i, name in enumerate(OUTLETS):
        line = ax.plot(when, base[i], lw=1, label=f"{name}")[0]
        ax.plot(when, scen[i], "--", lw=1, color=line.get_color())
    ax.set_ylabel("m³/s")
    ax.set_xlabel("" if start else "step")
    ax.set_title("Outlet hydrographs (solid: baseline, dashed: scenario)")
    ax.legend(fontsize=8, loc="center right")
    if "rain" in out:  # the hyetograph hangs from the top, as hydrologists draw it
        rain = np.asarray(out["rain"], dtype=np.float64) * (60 / step_min)
        sky = ax.twinx()
        width = step_min / 1440 if start else 1.0
        sky.bar(when, rain, width=width, color="tab:blue", alpha=0.35, align="edge")
        sky.set_ylim(max(float(rain.max()), 0.1) * 3, 0)
        sky.set_ylabel("rain, mm/h (baseline)")
    if start:
        fig.autofmt_xdate()
    parts = [_figure(fig)]

    def at(hours: float) -> str:
        if not start:
            return f"{hours:g} h"
        moment = np.datetime64(str(start), "m") + np.timedelta64(round(hours * 60), "m")
        return str(moment).replace("T", " ")

    pb, ps = np.asarray(out["peak_base"]), np.asarray(out["peak_scen"])
    tb, ts = np.asarray(out["time_to_peak_h_base"]), np.asarray(out["time_to_peak_h_scen"])
    parts.append(
        _table(
            (
                "outlet",
                "peak, baseline m³/s",
                "peak, scenario m³/s",
                "change",
                "peak at (baseline)",
                "peak at (scenario)",
            ),
            [
                (
                    name,
                    f"{pb[i]:.1f}",
                    f"{ps[i]:.1f}",
                    f"{100 * (ps[i] / pb[i] - 1):+.0f} %" if pb[i] > 0 else "—",
                    at(tb[i]),
                    at(ts[i]),
                )
                for i, name in enumerate(OUTLETS)
            ],
            "Peak flow and time to peak per outlet",
        )  # fmt: skip
    )
    hb, hs = np.asarray(out["exceed_h_base"], float), np.asarray(out["exceed_h_scen"], float)
    alarm = ctx.params.get("threshold_m3s_km2")
    level = f" ({alarm:g} m³/s per km²)" if isinstance(alarm, int | float) else ""
    parts += _area_maps(
        ctx, [("baseline", hb), ("scenario", hs)], f"hours above the alarm level{level}"
    )
    parts += _top_areas(
        ctx,
        hs,
        ("area", "hours above, baseline", "hours above, scenario"),
        lambda i: (f"{hb[i]:g}", f"{hs[i]:g}"),
        f"The {{n}} areas longest above the alarm level{level} in the scenario",
    )
    return parts


def _mobility(out: dict[str, Any], ctx: ReportContext | None = None) -> list[str]:
    """Mean speed by hour, vehicle-km by road class, the fit to the loop counts, and the day's
    change per area (map and a table)."""
    ctx = ctx or ReportContext()
    fig, ax = _subplots(figsize=(7, 3.2))
    for tag, label in (("base", "baseline"), ("scen", "scenario")):
        vkm = np.nansum(np.asarray(out[f"vkm_{tag}"]), axis=0)
        vht = np.nansum(np.asarray(out[f"vht_{tag}"]), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ax.plot(vkm / vht, marker="o", label=label)
    ax.set_xlabel("hour")
    ax.set_ylabel("mean speed, km/h")
    ax.set_title("Network mean speed by hour")
    ax.legend(fontsize=8)
    parts = [_figure(fig), *_by_class(out), *_loop_fit(out)]
    day = {k: np.nansum(np.asarray(out[k], dtype=np.float64), axis=1)
           for k in ("vkm_base", "vkm_scen", "vht_base", "vht_scen")}  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        speed_b = np.where(day["vht_base"] > 0, day["vkm_base"] / day["vht_base"], np.nan)
        speed_s = np.where(day["vht_scen"] > 0, day["vkm_scen"] / day["vht_scen"], np.nan)
        vht_pct = np.where(
            day["vht_base"] > 0, 100 * (day["vht_scen"] / day["vht_base"] - 1), np.nan
        )
    change = speed_s - speed_b
    parts += _area_maps(
        ctx, [("mean speed, scenario − baseline", change)], "km/h over the day", diverging=True
    )
    parts += _top_areas(
        ctx,
        np.abs(change),
        ("area", "mean speed, baseline km/h", "scenario km/h", "vehicle-hours change"),
        lambda i: (f"{speed_b[i]:.1f}", f"{speed_s[i]:.1f}", f"{vht_pct[i]:+.1f} %"),
        "The {n} areas whose mean speed changes most",
    )
    return parts


def _by_class(out: dict[str, Any]) -> list[str]:
    """The day's vehicle-km per road class in both runs: where route choice moves traffic."""
    fit: dict[str, Any] = next(iter(out.get("calibration") or []), {})
    by_class: dict[str, list[float]] = fit.get("vkm_by_class") or {}
    if not by_class:
        return []
    names = list(by_class)
    x = np.arange(len(names))
    fig, ax = _subplots(figsize=(5, 3.2))
    for k, (label, shift) in enumerate((("baseline", -0.2), ("scenario", 0.2))):
        ax.bar(x + shift, [by_class[n][k] / 1000 for n in names], 0.4, label=label)
    ax.set_xticks(x, names)
    ax.set_ylabel("thousand vehicle-km a day")
    ax.set_title("Vehicle-km by road class")
    ax.legend(fontsize=8)
    return [_figure(fig)]


def _loop_fit(out: dict[str, Any]) -> list[str]:
    """Counted against modelled daily flow on each counted arc: the baseline run (the demand
    was fitted to these counts) and the fit's prediction for loops it did not see."""
    fit: dict[str, Any] = next(iter(out.get("calibration") or []), {})
    counted = np.asarray(fit.get("loop_counted_daily", []), dtype=np.float64)
    if not len(counted):
        return []
    fig, ax = _subplots(figsize=(4.6, 4.2))
    series = (("loop_simulated_daily", "baseline run (fitted)", "o"),
              ("loop_heldout_daily", "held out (free flow)", "x"))  # fmt: skip
    for key, label, marker in series:
        if key in fit:
            ax.scatter(counted, np.asarray(fit[key], dtype=np.float64), s=14, marker=marker,
                       label=label)  # fmt: skip
    shown = [counted, *(np.asarray(fit[k], dtype=np.float64) for k, _, _ in series if k in fit)]
    top = max(float(np.nanmax(np.concatenate(shown))), 1.0) * 1.1
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="model = count")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("counted, vehicles a day")
    ax.set_ylabel("modelled, vehicles a day")
    ax.set_title(f"The {len(counted)} counted arcs")
    ax.legend(fontsize=8)
    return [_figure(fig)]


def _gravity(out: dict[str, Any], _ctx: ReportContext | None = None) -> list[str]:
    systems = out.get("systems") or []
    fig, ax = _subplots(figsize=(6, 3))
    x = np.arange(len(systems))
    ax.bar(x - 0.2, [s["mean_km_observed"] for s in systems], 0.4, label="observed")
    ax.bar(x + 0.2, [s["mean_km_fitted"] for s in systems], 0.4, label="fitted")
    ax.set_xticks(x, [s["system"] for s in systems], fontsize=8)
    ax.set_ylabel("mean trip length, km")
    ax.set_title(f"Gravity model, pooled beta = {float(out['beta_per_km']):.3f} per km")
    ax.legend(fontsize=8)
    return [_figure(fig)]


SECTIONS: dict[str, Callable[[dict[str, Any], ReportContext | None], list[str]]] = {
    "energy-5r1c": _energy,
    "flood-scs-nash": _flood,
    "mobility-ctm": _mobility,
    "mobility-gravity": _gravity,
}


def _value(v: Any) -> str:
    """A headline figure as HTML: a small table (`figure_grid`) or escaped text."""
    esc = html.escape
    grid = figure_grid(v)
    if grid is None:
        return esc(figure_text(v))
    headers, rows = grid
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr>" if headers else ""
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="inner">{head}{body}</table>'


def sweep_plots(summary: dict[str, Any]) -> list[str]:
    """A sweep's curves (each figure against the swept parameter, one panel per unit) or a
    Monte Carlo sample's bands (5th to 95th percentile, the median marked), from the summary
    the CLI and the API show too (decision 0033)."""
    curve, bands = summary.get("sweep_curve"), summary.get("uncertainty_bands")
    if curve:
        x_name = str(summary["sweep"]["parameters"][0])
        x = [row[x_name] for row in curve]
        columns = [k for k, v in curve[0].items() if k != x_name and isinstance(v, int | float)]
        units: dict[str, list[str]] = {}
        for k in columns:
            units.setdefault(k.rpartition(", ")[2] if ", " in k else k, []).append(k)
        fig, axes = _subplots(len(units), figsize=(3.6 * len(units), 3.2))
        for ax, (unit, names) in zip(np.atleast_1d(axes), units.items(), strict=True):
            for k in names:
                y = [np.nan if row[k] is None else row[k] for row in curve]
                ax.plot(x, y, marker="o", ms=3, lw=1, label=k.rpartition(", ")[0] or k)
            ax.set_xlabel(x_name)
            ax.set_ylabel(unit if len(names) > 1 else names[0])
            if len(names) > 1:
                ax.legend(fontsize=7)
        fig.suptitle(f"Sweep over {x_name}: {len(x)} scenarios in one job")
        return [f"<figure>{_svg(fig)}</figure>"]
    if bands:
        groups: dict[str, list[dict[str, Any]]] = {}  # one panel per unit
        for band in bands:
            unit = band["figure"].rpartition(", ")[2] if ", " in band["figure"] else ""
            groups.setdefault(unit if unit.endswith("/s") else "count", []).append(band)
        n = summary.get("sweep", {}).get("samples", "?")
        out = []
        for unit, rows in groups.items():
            fig, ax = _subplots(figsize=(7, 0.45 * len(rows) + 1.2))
            for i, band in enumerate(rows):
                ax.plot([band["p5"], band["p95"]], [i, i], lw=4, color="tab:blue", alpha=0.5)
                ax.plot([band["p50"]], [i], "k|", ms=12)
            ax.set_yticks(range(len(rows)), [b["figure"] for b in rows], fontsize=8)
            ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
            ax.set_xlabel(unit)
            ax.set_title(f"Monte Carlo, {n} samples: 5th to 95th percentile, median marked")
            out.append(f"<figure>{_svg(fig)}</figure>")
        return out
    return []


def render(
    view: dict[str, Any],
    provenance: dict[str, Any] | None,
    areas: Sequence[Area] = (),
    synthetic: Sequence[str] = (),
) -> str:
    """The HTML report of a job view (with outputs); `areas` (names, outlines) add maps;
    `synthetic` names the inputs the federated catalogue marks synthetic."""
    esc = html.escape
    c = card(view["model"])
    told = [
        ("Synthetic inputs", [", ".join(synthetic) if synthetic else "none"]),
        ("Assumptions", [w.en for w in c.assumptions]),
        ("Limits", [w.en for w in c.limits]),
        ("Validation", [w.en for w in c.validation] or ["not checked against a reference tool"]),
    ]
    caveats = "".join(
        f"<dt>{esc(k)}</dt><dd><ul>{''.join(f'<li>{esc(v)}</li>' for v in vs)}</ul></dd>"
        for k, vs in told
    )
    outputs = wire.decode_value(view.get("outputs") or {})
    section = SECTIONS.get(view["model"])
    ctx = ReportContext(params=dict(view.get("params") or {}), areas=areas)
    plots = section(outputs, ctx) if outputs and section else []
    plots += sweep_plots(view.get("summary") or {})
    rows = "".join(
        f"<tr><td>{esc(str(k))}</td><td>{_value(v)}</td></tr>"
        for k, v in (view.get("summary") or {}).items()
    )
    holders = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(str(h.get(k, '')))}</td>"
            for k in ("stage", "partner", "state", "seconds", "bytes", "error")
        )
        + "</tr>"
        for h in view.get("holders") or []
    )
    prov = esc(json.dumps(provenance, indent=1, ensure_ascii=False)) if provenance else ""
    figures = "".join(plots)
    error = view.get("error") or ""
    missing = f"<p><b>Missing or failed:</b> {esc(error)}</p>" if error else ""
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "figure{margin:1rem 0}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}"
        "table.data{margin:1rem 0}caption{text-align:left;font-weight:600;padding:.2rem 0}"
        "table.inner td{border:none;padding:0 .6rem 0 0}td{vertical-align:top}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Gemello job {esc(view["id"])}</title>
<style>{style}</style>
</head><body>
<h1>{esc(view["model"])}: {esc(view["state"])}</h1>
<p>Job <code>{esc(view["id"])}</code>, purpose <b>{esc(view["purpose"])}</b>,
model hash <code>{esc(view["model_hash"])}</code>. Parameters:
<code>{esc(json.dumps(view["params"], ensure_ascii=False))}</code></p>
{missing}
<h2>Caveats</h2><dl id="caveats">{caveats}</dl>
<h2>Headline figures</h2><table>{rows}</table>
<h2>Plots and tables</h2>{figures or "<p>No plot for this model.</p>"}
<h2>Holders</h2>
<table><tr><th>stage</th><th>partner</th><th>state</th><th>seconds</th><th>bytes</th><th>error</th></tr>
{holders}</table>
<h2>Provenance (W3C PROV-O, JSON-LD)</h2><pre id="provenance">{prov}</pre>
</body></html>"""

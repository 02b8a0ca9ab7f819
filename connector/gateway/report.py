"""A job's result as a short HTML report: headline figures, plots (SVG), provenance, holders.

Plots are drawn with matplotlib's Agg backend into inline SVG, so a report is one file that
opens anywhere and can be archived with the result.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from connector.compute import wire  # noqa: E402

MONTHS = "JFMAMJJASOND"


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _energy(out: dict[str, Any]) -> list[str]:
    """Monthly totals and savings per area; with hourly results also the load duration curve
    (the year's hours sorted by city-wide heating demand: the peak and how long it lasts)."""
    from models.common import month_of_hours
    from models.energy import by_month_hour

    def typical_days(values: Any) -> np.ndarray:
        a = np.asarray(values, dtype=np.float64)
        if a.ndim == 3:  # areas x 12 months x 24 hours already
            return a
        days = a.shape[1] // 24  # areas x hours: any year with as many days has the same months
        return by_month_hour(a, month_of_hours(2024 if days == 366 else 2023)[1])

    fig, ax = plt.subplots(figsize=(7, 3.2))
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
    fig2, ax2 = plt.subplots(figsize=(7, 3.2))
    saving = np.nansum(typical_days(out["savings"]), axis=(1, 2)) / 1000.0
    ax2.bar(np.arange(1, len(saving) + 1), saving)
    ax2.set_xlabel("statistical area")
    ax2.set_ylabel("MWh a year saved")
    ax2.set_title("Savings against the baseline, per statistical area")
    plots = [_svg(fig), _svg(fig2)]
    if np.ndim(out["heat_base"]) == 2:
        fig3, ax3 = plt.subplots(figsize=(7, 3.2))
        for tag, label, style in (("base", "baseline", "-"), ("scen", "scenario", "--")):
            hours = np.sort(np.nansum(np.asarray(out[f"heat_{tag}"]), axis=0))[::-1] / 1000.0
            keep = np.unique(np.linspace(0, len(hours) - 1, 400).astype(int))  # a light SVG
            ax3.plot(keep, hours[keep], style, label=label)
        ax3.set_xlabel("hours of the year, highest demand first")
        ax3.set_ylabel("MW (city-wide heating)")
        ax3.set_title("Heating load duration curve")
        ax3.legend(fontsize=8)
        plots.append(_svg(fig3))
    return plots


def _flood(out: dict[str, Any]) -> list[str]:
    from models.flood import OUTLETS

    fig, ax = plt.subplots(figsize=(7, 3.2))
    base, scen = np.asarray(out["outlet_base"]), np.asarray(out["outlet_scen"])
    for i, name in enumerate(OUTLETS):
        line = ax.plot(base[i], label=f"{name}")[0]
        ax.plot(scen[i], "--", color=line.get_color())
    ax.set_xlabel("step")
    ax.set_ylabel("m³/s")
    ax.set_title("Outlet hydrographs (solid: baseline, dashed: scenario)")
    ax.legend(fontsize=8)
    return [_svg(fig)]


def _mobility(out: dict[str, Any]) -> list[str]:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for tag, label in (("base", "baseline"), ("scen", "scenario")):
        vkm = np.nansum(np.asarray(out[f"vkm_{tag}"]), axis=0)
        vht = np.nansum(np.asarray(out[f"vht_{tag}"]), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ax.plot(vkm / vht, marker="o", label=label)
    ax.set_xlabel("hour")
    ax.set_ylabel("mean speed, km/h")
    ax.set_title("Network mean speed by hour")
    ax.legend(fontsize=8)
    return [_svg(fig)]


def _gravity(out: dict[str, Any]) -> list[str]:
    systems = out.get("systems") or []
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(len(systems))
    ax.bar(x - 0.2, [s["mean_km_observed"] for s in systems], 0.4, label="observed")
    ax.bar(x + 0.2, [s["mean_km_fitted"] for s in systems], 0.4, label="fitted")
    ax.set_xticks(x, [s["system"] for s in systems], fontsize=8)
    ax.set_ylabel("mean trip length, km")
    ax.set_title(f"Gravity model, pooled beta = {float(out['beta_per_km']):.3f} per km")
    ax.legend(fontsize=8)
    return [_svg(fig)]


PLOTS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "energy-5r1c": _energy,
    "flood-scs-nash": _flood,
    "mobility-ctm": _mobility,
    "mobility-gravity": _gravity,
}


def render(view: dict[str, Any], provenance: dict[str, Any] | None) -> str:
    """The HTML report of a job view (with outputs)."""
    esc = html.escape
    outputs = wire.decode_value(view.get("outputs") or {})
    plots = PLOTS.get(view["model"], lambda _o: [])(outputs) if outputs else []
    rows = "".join(
        f"<tr><td>{esc(str(k))}</td><td>{esc(json.dumps(v, ensure_ascii=False))}</td></tr>"
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
    figures = "".join(f"<figure>{svg}</figure>" for svg in plots)
    error = view.get("error") or ""
    missing = f"<p><b>Missing or failed:</b> {esc(error)}</p>" if error else ""
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "figure{margin:1rem 0}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}"
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
<h2>Headline figures</h2><table>{rows}</table>
<h2>Plots</h2>{figures or "<p>No plot for this model.</p>"}
<h2>Holders</h2>
<table><tr><th>stage</th><th>partner</th><th>state</th><th>seconds</th><th>bytes</th><th>error</th></tr>
{holders}</table>
<h2>Provenance (W3C PROV-O, JSON-LD)</h2><pre id="provenance">{prov}</pre>
</body></html>"""

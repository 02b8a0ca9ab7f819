"""Charts of a result as SVG images, drawn on the server with matplotlib (no chart script in
the browser, nothing from a CDN). One chart may overlay several runs (a comparison): each run
gets a colour, its baseline drawn dashed. The choropleth maps are drawn elsewhere (`maps`),
as inline SVG the reader can hover.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from connector.gateway.readable import Chart

# Colour-blind safe (Okabe-Ito), dark enough on white.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
BASELINE = "#555555"


def svg(charts: Sequence[tuple[str, Chart]], lang: str) -> str:
    """One chart as SVG: `charts` pairs a run's name ("" for a single run) with its version
    of the chart; their series are drawn over each other."""
    first = charts[0][1]
    fig = Figure(figsize=(7.2, 3.3), dpi=100)
    ax = fig.subplots()
    x = list(first.x)
    numeric = all(isinstance(v, int | float) for v in x)
    positions = np.asarray(x, dtype=float) if numeric else np.arange(len(x), dtype=float)
    bars = [s for _, c in charts for s in c.series] if first.kind == "bar" else []
    width = 0.8 / max(len(bars), 1)
    drawn = 0
    for k, (run, chart) in enumerate(charts):
        for series in chart.series:
            values = np.asarray(series.values, dtype=float)[: len(positions)]
            label = f"{run}: {series.label(lang)}" if run else series.label(lang)
            baseline = series.run == "baseline"
            # One run: the baseline grey, scenario series in colour. Several: a colour per run.
            if len(charts) > 1:
                colour = COLOURS[k % len(COLOURS)]
            else:
                colour = BASELINE if baseline else COLOURS[drawn % len(COLOURS)]
            if first.kind == "bar":
                offset = (drawn - (len(bars) - 1) / 2) * width
                shade = 0.55 if baseline and len(charts) > 1 else 1.0
                ax.bar(positions + offset, values, width, label=label, color=colour, alpha=shade)
            else:
                dots = "o" if len(positions) <= 31 else None
                style = "--" if baseline else "-"
                ax.plot(positions, values, style, lw=1.4, label=label, color=colour, marker=dots,
                        ms=3)  # fmt: skip
            drawn += 1
    if not numeric:
        step = max(1, len(x) // 8)
        ax.set_xticks(positions[::step], [str(v)[:16] for v in x[::step]], fontsize=8)
        if len(x) > 12:
            fig.autofmt_xdate()
    ax.set_xlabel(first.x_label(lang))
    ax.set_ylabel(first.y_label(lang))
    ax.set_title(first.title(lang), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]

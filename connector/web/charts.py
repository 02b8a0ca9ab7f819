"""Charts of a result as SVG images, drawn on the server with matplotlib (no chart script in
the browser, nothing from a CDN). One chart may overlay several runs (a comparison): each run
gets a colour, its baseline drawn dashed. The choropleth maps are drawn elsewhere (`maps`),
as inline SVG the reader can hover.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from connector.gateway.readable import Chart

# A chart is served as an image: it runs no script, and matplotlib styles its marks with inline
# styles, so its responses carry this policy instead of the pages' one.
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
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
        ax.set_xticks(positions[::step], [_label(v) for v in x[::step]], fontsize=8)
        if len(x) > 12:
            fig.autofmt_xdate()
    ax.set_xlabel(first.x_label(lang))
    ax.set_ylabel(first.y_label(lang))
    ax.set_title(first.title(lang), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(fig)


def _label(value: object) -> str:
    """A category for the x axis: long names ("San Donato - San Vitale") on two lines, not cut
    or run into their neighbours."""
    import textwrap

    lines = textwrap.wrap(str(value), 15) or [""]
    return "\n".join(lines[:2]) + ("…" if len(lines) > 2 else "")


def bars_with_errors(
    labels: Sequence[str],
    values: Sequence[float | None],
    errors: Sequence[float],
    title: str,
    y_label: str,
    missing: str,
) -> str:
    """Bars with error bars as SVG; a bar without a value (a suppressed cell) is left empty
    and labelled `missing`."""
    fig = Figure(figsize=(7.2, 3.4), dpi=100)
    ax = fig.subplots()
    xs = list(range(len(labels)))
    ax.bar(xs, [v if v is not None else 0 for v in values], yerr=errors, capsize=3,
           color=[COLOURS[0] if v is not None else "#ffffff" for v in values],
           edgecolor="#555555")  # fmt: skip
    for x, v in zip(xs, values, strict=True):
        if v is None:
            ax.annotate(missing, (x, 0), ha="center", va="bottom", rotation=90, fontsize=7)
    many = len(xs) > 6
    ax.set_xticks(xs, labels, rotation=45 if many else 0, ha="right" if many else "center",
                  fontsize=8)  # fmt: skip
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)


def bars(labels: Sequence[str], values: Sequence[float], title: str, x_label: str) -> str:
    """Horizontal bars, largest first (a report's counts and totals)."""
    pairs = sorted(zip(labels, values, strict=True), key=lambda p: p[1], reverse=True)[:25]
    fig = Figure(figsize=(7.2, max(1.8, 0.32 * len(pairs) + 1.0)), dpi=100)
    ax = fig.subplots()
    ys = list(range(len(pairs)))
    ax.barh(ys, [v for _, v in pairs], color=COLOURS[0])
    ax.set_yticks(ys, [label for label, _ in pairs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(x_label)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3, axis="x")
    return _svg(fig)


def steps_over_time(
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]], float | None]],
    title: str,
    y_label: str,
    limit_label: str,
) -> str:
    """Running totals over time as steps (one line per series), each with its limit dashed
    in the same colour when it has one (a budget's total)."""
    fig = Figure(figsize=(7.2, 3.3), dpi=100)
    ax = fig.subplots()
    now = datetime.now(UTC)
    first = min((p[0][0] for _, p, _ in series if p), default=now)
    span: Any = (min(first, now - timedelta(days=1)), now + timedelta(hours=1))
    ax.set_xlim(*span)
    for k, (label, points, limit) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        # The last total holds until now; a day at least is shown, so one charge is a step.
        xs: Any = [t for t, _ in points] + [max(now, points[-1][0])]
        ys = [v for _, v in points] + [points[-1][1]]
        ax.step(xs, ys, where="post", color=colour, lw=1.5, marker="o", ms=3, label=label)
        if limit is not None:
            ax.axhline(limit, color=colour, ls="--", lw=1, label=f"{label}: {limit_label}")
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]

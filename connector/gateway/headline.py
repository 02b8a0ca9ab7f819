"""Headline figures of a job's summary as plain text or small tables: the HTML report and
`gemello run` draw them alike (and the CLI imports this without the report's plotting)."""

from __future__ import annotations

import json
from typing import Any


def figure_text(v: Any) -> str:
    """A headline figure as plain text: a list of plain values as "a → b" (the baseline then
    the scenario), a string as it is, anything else as JSON."""
    if isinstance(v, list) and all(isinstance(x, str | int | float) for x in v):
        return " → ".join(map(str, v))
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def figure_grid(v: Any) -> tuple[list[str] | None, list[list[str]]] | None:
    """A headline figure that reads better as a small table, as (headers, rows) of plain text:
    a mapping as key-value rows (no headers), a list of records with the same keys as one
    row each under those keys. None for anything else (`figure_text`). The HTML report and
    `gemello run` both draw their tables from this."""
    if isinstance(v, dict) and v:
        return None, [[str(k), figure_text(x)] for k, x in v.items()]
    if v and isinstance(v, list) and all(isinstance(r, dict) for r in v):
        if len({tuple(r) for r in v}) == 1:
            return [str(k) for k in v[0]], [[figure_text(x) for x in r.values()] for r in v]
    return None

"""A local HTTP server shaped like an Opendatasoft portal (explore API v2.1), for tests.

Metadata rows come from the real portal catalogue subset in ../shared/data/bologna/portal_catalog;
exports are the real CSV files that the portal published for those datasets.
"""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

API = "/api/explore/v2.1/catalog/datasets"
EXPORTS = {
    "traffico-viali": "traffic_viali/traffico_viali_2019_2025.csv",
    "bologna-daily-mobility": "mobility_od_wifi/bologna_daily_mobility_od_2019_2021.csv",
    "precipitazioni_bologna": "weather_erg5/precipitazioni_bologna_daily_2001_2026.csv",
}


@dataclass
class Portal:
    """The running server, its catalogue (editable by tests) and what was asked of it."""

    url: str
    catalog: dict[str, dict[str, str]]
    hits: Counter[str] = field(default_factory=Counter)
    failing_exports: set[str] = field(default_factory=set)


def _meta(row: dict[str, str]) -> dict[str, object]:
    return {
        "dataset_id": row["dataset_id"],
        "has_records": True,
        "metas": {
            "default": {
                "title": row["title"],
                "description": f"<p>{row['title']} — dati del Comune di Bologna.</p>",
                "theme": [t for t in row["theme"].split(";") if t],
                "keyword": ["bologna", "open data"],
                "license": row["license"],
                "publisher": row["publisher"] or None,
                "modified": row["modified"],
                "records_count": int(row["records_count"] or 0),
            }
        },
    }


@contextmanager
def portal_server(bologna: Path) -> Iterator[Portal]:
    """Serve the portal on a free loopback port for the duration of the block."""
    with (bologna / "portal_catalog" / "opendata_comune_bologna_catalog_subset.csv").open() as fh:
        rows = {r["dataset_id"]: r for r in csv.DictReader(fh)}
    portal = Portal(url="", catalog=rows)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            del args

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlparse(self.path).path
            portal.hits[path] += 1
            if path == API:
                results = [_meta(r) for r in portal.catalog.values()]
                doc = {"total_count": len(results), "results": results}
                return self._send(200, json.dumps(doc).encode(), "application/json")
            parts = path[len(API) + 1 :].split("/") if path.startswith(API + "/") else []
            if len(parts) == 1 and parts[0] in portal.catalog:
                body = json.dumps(_meta(portal.catalog[parts[0]])).encode()
                return self._send(200, body, "application/json")
            if len(parts) == 3 and parts[1:] == ["exports", "csv"] and parts[0] in EXPORTS:
                if parts[0] in portal.failing_exports:
                    return self._send(503, b"export temporarily unavailable", "text/plain")
                data = (bologna / EXPORTS[parts[0]]).read_bytes()
                return self._send(200, data, "text/csv; charset=utf-8")
            return self._send(404, b'{"error_code": "NotFound"}', "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    portal.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()

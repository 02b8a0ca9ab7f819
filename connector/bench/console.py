"""How fast the web console's pages are, against a real connector: the server's time per page
(a warm HTTP client on loopback, signed in), the first contentful paint in headless Chromium,
and the JavaScript and CSS each page ships (gzipped).

Targets (issue 26): every page's server time p95 ≤ 100 ms (model runs excepted), first
contentful paint ≤ 1 s, JavaScript + CSS per page ≤ 300 KB gzipped.
"""

from __future__ import annotations

import gzip
import re
import shutil
import statistics
import time
from typing import Any

import httpx

P95_TARGET_MS = 100.0
FCP_TARGET_MS = 1000.0
ASSETS_TARGET_KB = 300.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip


def sign_in(client: httpx.Client, token: str) -> None:
    """Open a console session on `client` (its cookie jar keeps it)."""
    form = client.get("/console/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if nonce is None:
        raise RuntimeError("the sign-in form has no anti-forgery value")
    done = client.post("/console/sign-in", data={"token": token, "csrf": nonce.group(1)})
    if done.status_code != 303:
        raise RuntimeError(f"console sign-in failed: {done.status_code} {done.text[:200]}")


def _assets_kb(client: httpx.Client, html: str) -> float:
    """The gzipped size of the scripts and stylesheets a page links, in KB."""
    urls = re.findall(r'<script[^>]+src="([^"]+)"', html)
    urls += re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    return sum(len(gzip.compress(client.get(u).content)) for u in urls) / 1000


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_pages(
    url: str, token: str, pages: dict[str, str], rounds: int, paint: bool = True
) -> list[dict[str, Any]]:
    """Each page's server time (median, p95 over `rounds` interleaved requests), the size of
    its HTML and of the assets it links (gzipped), and its first contentful paint."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        sign_in(client, token)
        for path in pages.values():  # warm: caches, templates, the map
            client.get(path).raise_for_status()
        for _ in range(rounds):
            for name, path in pages.items():
                t0 = time.perf_counter()
                client.get(path).raise_for_status()
                times[name].append((time.perf_counter() - t0) * 1000)
        for name, path in pages.items():
            html = client.get(path).text
            rows.append(
                {
                    "page": name,
                    "path": path,
                    "median_ms": statistics.median(times[name]),
                    "p95_ms": _pct(times[name], 0.95),
                    "html_kb": len(gzip.compress(html.encode())) / 1000,
                    "assets_kb": _assets_kb(client, html),
                    "fcp_ms": None,
                }
            )
        cookies = [
            {"name": c.name, "value": c.value or "", "url": url + "/console"}
            for c in client.cookies.jar
        ]
    fcp = first_paints(url, cookies, pages, 5) if paint else {}
    for row in rows:
        row["fcp_ms"] = fcp.get(row["page"])
    return rows


# The first contentful paint, waited for (buffered: it may come before or after `load`).
FCP_JS = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const e = list.getEntriesByName('first-contentful-paint')[0];
    if (e) resolve(e.startTime);
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => resolve(-1), 5000);
})"""


def first_paints(
    url: str, cookies: list[dict[str, str]], pages: dict[str, str], loads: int
) -> dict[str, float]:
    """Median first contentful paint of each page in headless Chromium ({} without one)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if chromium is None:
        return {}
    out: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies(cookies)  # type: ignore[arg-type]
            for name, path in pages.items():
                paints = []
                for _ in range(loads):
                    page = context.new_page()
                    page.goto(url + path, wait_until="load")
                    paints.append(page.evaluate(FCP_JS))
                    page.close()
                good = [p for p in paints if p >= 0]
                if good:
                    out[name] = statistics.median(good)
        finally:
            browser.close()
    return out


def console_section(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown section for docs/benchmarks.md."""
    lines = [
        "## Web console (real uvicorn processes on loopback, signed in: the researcher's pages "
        "at unibo, the steward's, auditor's and admin's at fbk)",
        "",
        f"Targets (issue 26): server time p95 <= {P95_TARGET_MS:.0f} ms per page, first "
        f"contentful paint <= {FCP_TARGET_MS / 1000:g} s in headless Chromium (median of 5 "
        f"loads), JavaScript + CSS <= {ASSETS_TARGET_KB:.0f} KB gzipped per page. Server "
        "time is the whole request from a warm client on loopback; the discover page draws "
        "the 90 statistical areas as SVG on every request.",
        "",
        "| page | median, ms | p95, ms | first paint, ms | JS + CSS, KB gz | HTML, KB gz "
        "| targets |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        fcp = r["fcp_ms"]
        met = (
            r["p95_ms"] <= P95_TARGET_MS
            and (fcp is None or fcp <= FCP_TARGET_MS)
            and r["assets_kb"] <= ASSETS_TARGET_KB
        )
        if r["path"].endswith(".svg"):  # an image, drawn once per run and language, then kept
            verdict = "image (drawn on the server)"
        else:
            verdict = ("met" if met else "**not met**") + (
                "" if fcp is not None else " (no browser)"
            )
        lines.append(
            f"| `{r['path']}` ({r['page']}) | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{'—' if fcp is None else f'{fcp:.0f}'} | {r['assets_kb']:.1f} | "
            f"{r['html_kb']:.1f} | {verdict} |"
        )
    return lines + [""]

"""`make bench`, the dashboard: server-side latency of every callback and time to first render.

- every server-side callback the app declares, fired through Flask's test client as the browser
  would, logged in as the admin: Dash's page callback once per page view (that is where a page's
  layout runs), the URL filters, the map click, the downloads and the export; 95th percentile
  and median of REPEAT calls, and the first call (answers are then kept until the database
  changes); target p95 under 200 ms;
- each page in headless Chromium (Debian's, launched as in the tests): from navigation to its
  heading and every chart drawn, in a new browser context each time (nothing cached, logged in
  as the admin first, which is not timed), median of LOADS loads; target under 2 s.
Both run on the database the ingest section built (tmp/mvh.duckdb). A page or a callback added
later is measured too: pages with no query, callbacks without sample inputs are listed as such.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DRAWN, served, sign_in  # noqa: E402
from tests.dash_client import PAGES_OUTPUT, add_accounts, dependencies, fire, key, login  # noqa: E402

Row = tuple[str, int, float, float | None, str]
REPEAT = 30
LOADS = 3
CALLBACK_TARGET, PAGE_TARGET = 0.200, 2.0
VIEWS = ["/", "/countries", "/countries?country=BG", "/trends?kpi=migrants_reached&as_of=2023-Q1",
         "/entities", "/people", "/submissions", "/quality", "/indicators",
         "/provenance?kpi=migrants_reached&country=GR&as_of=2023-Q2"]


def _samples(rows: dict, tmp: Path) -> dict[str, list[tuple]]:
    """Sample inputs of each callback, by its first input: (label, inputs, state, match, changed)."""
    import base64

    table = {"table": "submissions-versions"}
    workbook = tmp / "raw" / "BG_2022-Q3.xlsx"
    contents = "data:application/octet-stream;base64," + base64.b64encode(workbook.read_bytes()).decode()
    return {
        "upload-payload": [("upload: check a workbook",
                            [{"contents": contents, "filename": workbook.name}], ["check", ""], None, 0)],
        "upload-annotated-button": [("upload: download the marked workbook", [1], [], None, 0)],
        "export-button": [("export: the pack of 2022", [1], ["2022-Q1", "2022-Q4", "xlsx", "2022-Q4"],
                           None, 0)],
        "export-period": [("export: a reporting period", ["Interim report", "2021-Q4", "2023-Q4"], [],
                           None, 0)],
        "export-from": [("export: the KPI summary's preview", ["2021-Q4", "2022-Q4", "2023-Q1"], [],
                         None, 0)],
        "upload-template-button": [
            ("upload: pre-filled template", [1], ["BG", "2022-Q3", "", []], None, 0),
            ("upload: blank template", [1], ["BG", "2022-Q3", "", ["blank"]], None, 0)],
        "overview-as-of": [("overview: as-of picker", ["2022-Q3"], [], None, 0)],
        "countries-kpi": [("countries: status picker", ["migrants_reached", "2022-Q3"], [], None, 0)],
        "countries-country": [("countries: country picker", ["BG", "2023-Q4"], [], None, 0)],
        "countries-map": [("countries: map click", [{"points": [{"customdata": "GR"}]}],
                           ["2023-Q4"], None, 0)],
        "trends-kpi": [("trends: pickers", ["migrants_reached", "2023-Q1"], [], None, 0)],
        "entities-kind": [("entities: pickers", ["council", "BG", "2023-Q4"], [], None, 0)],
        "people-country": [("people: pickers", ["RO", "2023-Q4"], [], None, 0)],
        "quality-country": [("quality: pickers", ["AT", "2023-Q3", "all"], [], None, 0)],
        "quality-findings": [("quality: a warning chosen", [[{"submission_id": "none"}]], [], None, 0)],
        "quality-explain": [("quality: an explanation without a warning", [1, None, None],
                             [[], "why", "open", None, None], None, 0)],
        "provenance-kpi": [("provenance: pickers", ["migrants_reached", "GR", "2023-Q2"], [],
                            None, 0)],
        "download-csv": [("download 62 rows as CSV", [1, None], [rows], table, 0),
                         ("download 62 rows as XLSX", [None, 1], [rows], table, 1)],
    }


def _views(registered: list[str]) -> list[str]:
    return VIEWS + [p for p in registered if p not in {v.split("?")[0] for v in VIEWS}]


def _measure(call) -> list[float]:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return times


def _row(label: str, times: list[float], target: float = CALLBACK_TARGET) -> Row:
    from bench.run import p95

    over = "" if p95(times) < target else "  OVER TARGET"
    return (f"callback p95: {label}", len(times), p95(times), None,
            f"median {statistics.median(times) * 1000:.0f} ms, first {times[0] * 1000:.0f} ms; "
            f"target < {target * 1000:.0f} ms{over}")


@functools.cache
def _app():
    """One app per process: Dash hands the callbacks declared with @callback to the first only.
    It reads the database named by $MVH_DB at each request."""
    from dashboard.app import create_app

    return create_app()


def callbacks(reg, tmp: Path, database: Path | None = None, target: float = CALLBACK_TARGET) -> list[Row]:
    """Every server-side callback through Flask's test client, on tmp/mvh.duckdb or `database`."""
    import dash

    database = database or tmp / "mvh.duckdb"
    os.environ["MVH_DB"] = str(database)
    from dashboard import data, tables

    client = _app().server.test_client()
    client.get("/")  # the first request, on which Dash runs every layout once
    add_accounts(database)
    login(client, "admin")  # may open every page
    samples = _samples({"columns": list(data.submissions().columns),
                        "rows": tables.records(data.submissions())}, tmp)
    specs = dependencies(client)
    upload = next(s for s in specs if s["output"] == "upload-result.children")
    label, *check_once = samples["upload-payload"][0]
    fire(client, upload, *check_once)  # a marked workbook for the download callback to send
    rows: list[Row] = []
    for spec in specs:
        if spec.get("clientside_function"):
            continue
        if PAGES_OUTPUT in spec["output"]:
            registered = [page["path"] for page in dash.page_registry.values()]
            for view in _views(registered):
                path, _, query = view.partition("?")
                search = f"?{query}" if query else ""
                rows.append(_row(f"page {view}", _measure(partial(fire, client, spec,
                                                                  [path, search])), target))
            continue
        first = spec["inputs"][0]["id"]
        given = samples.get(first if not first.startswith("{") else _pattern_type(first), [])
        for label, inputs, state, match, changed in given:
            rows.append(_row(label, _measure(partial(fire, client, spec, inputs, state, match,
                                                     changed)), target))
        if not given:
            rows.append((f"callback not measured: {key(first)}", 0, 0.0, None,
                         "no sample inputs in bench/dashboard.py"))
    return rows


def _pattern_type(ident: str) -> str:
    import json

    return json.loads(ident)["type"]


def first_render(reg, tmp: Path) -> list[Row]:
    """Each page in headless Chromium, from navigation to drawn, in a fresh context each time."""
    import dash
    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    registered = [page["path"] for page in dash.page_registry.values()]
    with served(tmp / "mvh.duckdb") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for view in _views(registered):
            times = []
            for _ in range(LOADS):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                sign_in(page, url, "admin")  # not timed: a page is timed from its navigation
                start = time.perf_counter()
                page.goto(url + view)
                page.wait_for_function(DRAWN, timeout=30_000)
                times.append(time.perf_counter() - start)
                context.close()
            median = statistics.median(times)
            over = "" if median < PAGE_TARGET else "  OVER TARGET"
            rows.append((f"first render: {view}", LOADS, median, None,
                         f"slowest {max(times):.2f} s; target < {PAGE_TARGET:.0f} s{over}"))
        browser.close()
    return rows

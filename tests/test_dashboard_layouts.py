"""Every page and callback through Flask's test client (no browser): no database, a logged-in
first request, odd URLs, the URL filters and the downloads."""

from __future__ import annotations

import base64
import io

import dash
import pytest
from openpyxl import load_workbook

from tests.dash_client import add_accounts, dependencies, fire, ids, login, render, text

NEEDS_DATA = {"/", "/countries", "/trends", "/entities", "/people", "/submissions", "/quality",
              "/provenance", "/export", "/review"}


@pytest.fixture
def client(app, demo_db, monkeypatch):
    """A test client logged in as the manager."""
    monkeypatch.setenv("MVH_DB", str(demo_db))
    client = app.server.test_client()
    login(client)
    return client


def pages() -> list[str]:
    return [page["path"] for page in dash.page_registry.values()]


def spec_for(client, output: str) -> dict:
    return next(s for s in dependencies(client) if s["output"].startswith(output))


def test_every_page_renders_for_the_manager_or_the_admin(client):
    assert len(pages()) >= 11
    login(client, "admin")
    for path in pages():
        assert client.get(path).status_code == 200, path
        shown = render(client, path)
        assert shown.status_code == 200, path
        assert "No data yet" not in text(shown)


def test_every_page_copes_with_no_database(app, tmp_path, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(tmp_path / "nothing-yet.duckdb"))
    add_accounts(tmp_path / "nothing-yet.duckdb")
    client = app.server.test_client()
    login(client)
    for path in pages():
        shown = render(client, path)
        assert shown.status_code == 200, path
        assert ("No data yet" in text(shown)) == (path in NEEDS_DATA), path
    assert "Migrants reached" in text(render(client, "/indicators"))  # from indicators.yaml


@pytest.mark.parametrize("search", ["?country=XX&kpi=nope&as_of=1999-Q1&kind=x&quarter=y",
                                    "?country=bg&as_of=2022-q3&kpi=migrants_reached"])
def test_odd_or_lower_case_query_arguments_fall_back_to_defaults(client, search):
    for path in pages():
        assert render(client, path, search).status_code == 200, (path, search)
    assert "There is no country 'XX'" in text(render(client, "/countries", "?country=XX"))
    assert "Bulgaria (BG) · Stara Zagora" in text(render(client, "/countries", "?country=bg"))


def test_pickers_write_the_view_into_the_url(client):
    trends = fire(client, spec_for(client, "trends-url.search"), ["migrants_reached", "2023-Q1"])
    assert trends.get_json()["response"]["trends-url"]["search"] == (
        "?kpi=migrants_reached&as_of=2023-Q1")
    provenance = fire(client, spec_for(client, "provenance-url.search"),
                      ["councils_established", None, "2023-Q4"])
    assert provenance.get_json()["response"]["provenance-url"]["search"] == (
        "?kpi=councils_established&as_of=2023-Q4")


def test_a_map_click_opens_the_country(client):
    spec = next(s for s in dependencies(client)
                if s["inputs"][0]["id"] == "countries-map")
    opened = fire(client, spec, [{"points": [{"customdata": "GR"}]}], ["2022-Q3"])
    assert opened.get_json()["response"]["countries-url"]["search"] == "?country=GR&as_of=2022-Q3"


def test_downloads_come_as_csv_and_xlsx_with_partner_text_as_text(client):
    spec = spec_for(client, '{"table":["MATCH"],"type":"download"}')
    rows = {"columns": ["file", "n"], "rows": [{"file": "=cmd()", "n": 3}]}
    csv = fire(client, spec, [1, None], [rows], match={"table": "quality-findings"})
    sent = csv.get_json()["response"]['{"table":"quality-findings","type":"download"}']["data"]
    assert (sent["filename"], sent["content"]) == ("mvh-quality-findings.csv", "\ufefffile,n\n'=cmd(),3\n")
    xlsx = fire(client, spec, [None, 1], [rows], match={"table": "quality-findings"}, changed=1)
    sent = xlsx.get_json()["response"]['{"table":"quality-findings","type":"download"}']["data"]
    assert sent["filename"] == "mvh-quality-findings.xlsx" and sent["base64"]
    sheet = load_workbook(io.BytesIO(base64.b64decode(sent["content"]))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["file", "n"], ["=cmd()", 3]]
    assert sheet["A2"].data_type == "s"


def test_every_table_has_its_downloads(client):
    shown = ids(render(client, "/submissions").get_json())
    for table in ("submissions-matrix-table", "submissions-versions", "submissions-overdue-table"):
        for kind in ("download-csv", "download-xlsx", "download", "download-rows"):
            assert {"table": table, "type": kind} in shown

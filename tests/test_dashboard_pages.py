"""Every page of the dashboard in headless Chromium: no console error, on a laptop and a phone, the
KPIs equal to `mvh kpis --json`, the submissions matrix, downloads and the provenance click-through
to the very cell of the stored workbook."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from openpyxl import load_workbook

from dashboard.tables import compact
from tests.conftest import DRAWN, expected

pytestmark = pytest.mark.browser
TARGETED = ["councils_established", "councils_strengthened", "authorities_supporting",
            "migrants_reached"]


def number(page, selector: str) -> int:
    return int(page.inner_text(selector).replace(",", ""))


def nav(page, url: str) -> list[str]:
    """The pages of the navigation (built from the page registry), as paths."""
    page.goto(f"{url}/")
    page.wait_for_selector("#overview-value-migrants_reached")
    return [a.get_attribute("href") for a in page.locator("nav a").all()]


def shown(page, url: str) -> None:
    """Open a page and wait until its heading is there and each of its charts is drawn."""
    page.goto(url)
    page.wait_for_function(DRAWN)


def rows(page, grid: str) -> int:
    """The rows a table (AG Grid) shows, once it has drawn them."""
    page.wait_for_selector(f"#{grid} .ag-center-cols-container .ag-row")
    return page.locator(f"#{grid} .ag-center-cols-container .ag-row").count()


def cell(page, grid: str, row: int, column: str) -> str:
    return page.inner_text(f'#{grid} .ag-center-cols-container .ag-row[row-index="{row}"] '
                           f'[col-id="{column}"]')


def test_every_page_loads_without_console_errors(page, dashboard_url):
    paths = nav(page, dashboard_url)
    assert {"/", "/countries", "/trends", "/entities", "/people", "/submissions", "/quality",
            "/indicators", "/provenance"} <= set(paths)
    for path in paths:
        shown(page, dashboard_url + path)
        assert "No data yet" not in page.inner_text("main"), path


def test_every_page_fits_a_phone(phone, dashboard_url):
    for path in nav(phone, dashboard_url):
        shown(phone, dashboard_url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path


def test_the_map_and_the_table_show_each_country_status(page, dashboard_url, demo_db):
    truth = expected(demo_db, "2022-Q3")
    shown(page, f"{dashboard_url}/countries?as_of=2022-Q3&kpi=migrants_reached")
    page.wait_for_selector("#countries-map .scattergeo text")  # drawn once the base map is in
    labels = page.locator("#countries-map .scattergeo text").all_text_contents()
    symbols = {"on_track": "●", "off_track": "✖", "achieved": "✔"}  # the legend names them in words
    reach = {c: truth[("migrants_reached", c)] for c in ("AT", "BG", "FR", "GR", "HU", "IT", "RO")}
    assert sorted(labels) == sorted(f"{c} {symbols[k['status']]} {compact(k['value'])}"
                                    for c, k in reach.items())
    assert "HU ✖ 3,369" in labels  # with its figure
    for code in ("FR", "GR", "HU"):
        for kpi in TARGETED:
            status = truth[(kpi, code)]["status"].replace("_", " ").capitalize()
            assert page.inner_text(f"#countries-status-{code}-{kpi}").endswith(status)
    page.click("#countries-row-GR a")
    page.wait_for_url("**/countries?country=GR&as_of=2022-Q3")
    page.wait_for_selector("#countries-value-migrants_reached")
    assert number(page, "#countries-value-migrants_reached") == truth[
        ("migrants_reached", "GR")]["value"]


def test_a_country_page_shows_its_kpis_councils_and_submissions(page, dashboard_url, demo_db):
    truth = expected(demo_db, "2023-Q4")
    shown(page, f"{dashboard_url}/countries?country=HU&as_of=2023-Q4")
    for kpi in [*TARGETED, "direct_participants"]:
        assert number(page, f"#countries-value-{kpi}") == truth[(kpi, "HU")]["value"], kpi
    assert rows(page, "countries-council") == 1
    assert cell(page, "countries-council", 0, "id") == "HU-C1"
    assert cell(page, "countries-council", 0, "status") == "Active"
    assert rows(page, "countries-submissions") == 9
    assert "Missing" in page.inner_text("#countries-submissions")


def test_a_country_page_shows_the_partners_notes(page, dashboard_url):
    shown(page, f"{dashboard_url}/countries?country=RO&as_of=2023-Q4")
    table = page.inner_text("#countries-submissions")
    assert "Report sent late: council elections delayed our data." in table and "Late (19 days)" in table
    late = page.locator("#countries-history a", has_text="2023-Q1")
    late.click()  # to the quarter's versions and decisions
    page.wait_for_url("**/review?country=RO&quarter=2023-Q1")
    page.wait_for_selector("text=Report sent late: council elections delayed our data.")


def test_trends_show_the_kpi_its_plan_and_projection(page, dashboard_url, demo_db):
    truth = expected(demo_db, "2023-Q1")
    shown(page, f"{dashboard_url}/trends?kpi=migrants_reached&as_of=2023-Q1")
    assert number(page, "#trends-value") == truth[("migrants_reached", None)]["value"]
    assert "target 1,000,000: the target is reached" in page.inner_text("#trends-outlook")
    page.wait_for_function(  # a line per country
        "document.querySelectorAll('#trends-countries .scatterlayer .trace').length === 7")
    page.click("#trends-kpi")
    page.get_by_role("option", name="Authorities supporting councils", exact=True).click()
    page.wait_for_url("**/trends?kpi=authorities_supporting&as_of=2023-Q1")
    page.wait_for_function("document.querySelector('#trends-value').innerText === "
                           f"'{truth[('authorities_supporting', None)]['value']}'")


def test_entities_count_as_mvh_kpis(page, dashboard_url, demo_db):
    truth = expected(demo_db, "2022-Q3")
    shown(page, f"{dashboard_url}/entities?as_of=2022-Q3")
    for kpi in ["councils_established", "councils_strengthened", "authorities_supporting"]:
        assert number(page, f"#entities-count-{kpi}") == truth[(kpi, None)]["value"], kpi
    assert rows(page, "entities-table") == 7 + 9  # councils, authorities (2 national ministries)
    assert "HU-C1" in page.inner_text("#entities-table")
    shown(page, f"{dashboard_url}/entities?kind=authority&country=BG&as_of=2023-Q4")
    assert rows(page, "entities-table") == 2
    assert number(page, "#entities-count-authorities_supporting") == 1  # not the ministry


def test_people_show_participations_and_outreach_apart(page, dashboard_url, demo_db):
    for country in (None, "RO"):
        truth = expected(demo_db, "2023-Q4")
        shown(page, f"{dashboard_url}/people" + (f"?country={country}" if country else ""))
        participations = number(page, "#people-value-direct_participants")
        assert participations == truth[("direct_participants", country)]["value"]
        assert number(page, "#people-value-migrants_reached") == truth[("migrants_reached", country)]["value"]
        # unique participants, from the registers, beside participations and said to be distinct
        unique = number(page, "#people-value-unique_participants")
        assert unique == truth[("unique_participants", country)]["value"] < participations
        assert "each person once" in page.inner_text("#_pages_content")


def test_the_submissions_matrix_shows_late_missing_and_overdue(page, dashboard_url):
    shown(page, f"{dashboard_url}/submissions")
    assert page.inner_text("#submissions-cell-RO-2023-Q1") == "▲ Late (19 days)"
    assert page.inner_text("#submissions-cell-HU-2022-Q3") == "✖ Missing"
    assert page.inner_text("#submissions-cell-FR-2022-Q3") == "✔ On time"
    assert page.locator("#submissions-cell-RO-2023-Q1 a").get_attribute("href") == \
        "/review?country=RO&quarter=2023-Q1"  # a manager goes on to its versions and decisions
    assert page.locator("#submissions-cell-HU-2022-Q3 a").count() == 0  # nothing to review
    overdue = page.inner_text("#submissions-overdue-HU-2022-Q3")
    assert overdue.startswith("Hungary (HU) 2022-Q3: due 30 Oct 2022, overdue since 31 Oct 2022")
    assert page.locator("#submissions-overdue li").count() == 1
    assert "✖ Missing" in page.inner_text(".legend") and "↻ Superseded" in page.inner_text(".legend")


def test_quality_and_indicators_pages(page, dashboard_url, reg):
    shown(page, f"{dashboard_url}/quality")
    assert page.inner_text("#quality-summary").startswith("▲ 0 open warning(s)")  # the demo is clean
    assert page.inner_text("#quality-cell-HU-2022-Q3") == "none"
    shown(page, f"{dashboard_url}/indicators")
    for kpi in reg.kpis:
        section = page.inner_text(f"#indicators-{kpi.id}")
        assert kpi.label in section and kpi.counting_rule in section
        assert all(ref.ref in section for refs in kpi.amif.values() for ref in refs)
    assert "1,000,000 migrants" in page.inner_text("#indicators-migrants_reached")


def test_one_click_from_an_overview_card_to_the_cell_of_the_stored_file(page, dashboard_url,
                                                                           demo_db):
    truth = expected(demo_db, "2023-Q2")
    page.goto(f"{dashboard_url}/?as_of=2023-Q2")
    page.click("#overview-value-migrants_reached")
    page.wait_for_url("**/provenance?kpi=migrants_reached&as_of=2023-Q2")
    assert rows(page, "provenance-rows") == 20  # the first page of the table
    value = truth[("migrants_reached", None)]["value"]
    assert number(page, "#provenance-value") == value
    assert page.inner_text("#provenance-check").endswith(f"add up to {value:,}.")
    for row in (0, 7):
        file_name, version = cell(page, "provenance-rows", row, "file"), int(
            cell(page, "provenance-rows", row, "version"))
        with duckdb.connect(str(demo_db), read_only=True) as con:
            stored = con.execute("SELECT stored_path FROM submissions WHERE file_name = ? AND "
                                 "version = ?", [file_name, version]).fetchone()[0]
        sheet = load_workbook(stored, read_only=True)[cell(page, "provenance-rows", row, "sheet")]
        read = sheet[cell(page, "provenance-rows", row, "cell")].value
        assert read == int(cell(page, "provenance-rows", row, "value").replace(",", ""))


def test_one_click_from_a_grid_cell_to_a_country_s_rows(page, dashboard_url, demo_db):
    truth = expected(demo_db, "2022-Q4")
    page.goto(f"{dashboard_url}/?as_of=2022-Q4")
    page.click("#overview-grid-GR-councils_established a")
    page.wait_for_url("**/provenance?kpi=councils_established&country=GR&as_of=2022-Q4")
    assert rows(page, "provenance-rows") == 1
    assert number(page, "#provenance-value") == truth[("councils_established", "GR")]["value"] == 1
    assert (cell(page, "provenance-rows", 0, "row id"), cell(page, "provenance-rows", 0, "value"),
            cell(page, "provenance-rows", 0, "quarter")) == ("GR-C1", "Active", "2022-Q4")


def test_a_table_downloads_as_csv_from_the_keyboard_and_as_xlsx(page, dashboard_url):
    shown(page, f"{dashboard_url}/submissions")
    button = '{"table":"submissions-matrix-table","type":"download-csv"}'
    for _ in range(150):  # past the menu and the matrix's cells, each a link to its quarter's review
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == button:
            break
    else:
        pytest.fail("Tab never reached the matrix's Download CSV button")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    late = next(r for r in rows if (r["Country"], r["Quarter"]) == ("RO", "2023-Q1"))
    assert (late["Status"], late["Days late"], late["Due"]) == ("▲ Late (19 days)", "19",
                                                                  "2023-04-30")
    assert len(rows) == 63
    with page.expect_download() as download:
        page.click("""[id='{"table":"submissions-versions","type":"download-xlsx"}']""")
    assert download.value.suggested_filename == "mvh-submissions-versions.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet.max_row == 72 and sheet["A1"].value == "Country"  # 71 files and the header

"""The managers' pages as a coordinator meets them, in headless Chromium at 1440 px and on a 390 px
phone: every figure readable ("<5" and "not collected", never "Invalid Number" or "NaN"), the
columns that answer a page's question in view, and the EU export downloaded for real."""

from __future__ import annotations

import itertools
import re
import zipfile

import pytest

from tests.conftest import DRAWN, _watched
from tests.test_export import sheet
from tests.test_registry import contrast

pytestmark = pytest.mark.browser
EXTRA_VIEWS = ["/people?country=BG", "/countries?country=BG", "/trends?kpi=unique_participants",
               "/trends?kpi=migrants_reached&as_of=2023-Q1", "/entities?as_of=2022-Q3",
               "/provenance?kpi=unique_participants&country=FR"]
# the columns that answer each page's question, to be in view at 1440 px without scrolling
KEY_COLUMNS = {
    "/entities": ("entities-table", ["id", "status", "status_by_quarter", "status_cell"]),
    "/provenance?kpi=migrants_reached&country=GR&as_of=2023-Q2": ("provenance-rows",
                                                                   ["value", "file", "cell", "uploaded by"]),
    "/trends?kpi=migrants_reached&as_of=2023-Q1": ("trends-table", ["country", "2023-Q1"]),
    "/people": ("people-direct_participants-table", ["Type", "Under 18", "18 to 60", "Over 60",
                                                     "Age unknown"]),
}


@pytest.fixture
def wide(browser, dashboard_url):
    """A 1440 px screen on the demo dashboard, logged in as the manager; console errors fail."""
    yield from _watched(browser, dashboard_url, 1440, 900, mobile=False)


def shown(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(DRAWN)
    page.wait_for_load_state("networkidle")  # the grids have drawn their rows


def views(page, url: str) -> list[str]:
    page.goto(f"{url}/")
    page.wait_for_selector("nav a")
    return [a.get_attribute("href") for a in page.locator("nav a").all()] + EXTRA_VIEWS


def choose(page, picker: str, option: str) -> None:
    page.click(picker)
    page.get_by_role("option", name=option, exact=True).click()


def unreadable(page) -> list[str]:
    """The texts of the page (its grids' cells and its charts' labels too) a reader cannot read."""
    texts = page.evaluate("[...document.querySelectorAll('main .ag-cell, main svg text, main p, "
                          "main td, main dd')].map(e => e.textContent)")
    return [t for t in texts if "Invalid Number" in t or re.search(r"\bNaN\b", t)]


@pytest.mark.parametrize("screen", ["wide", "phone"])
def test_no_page_shows_invalid_number_or_nan(screen, request, dashboard_url):
    page = request.getfixturevalue(screen)
    for path in views(page, dashboard_url):
        shown(page, dashboard_url + path)
        assert unreadable(page) == [], path
    shown(page, f"{dashboard_url}/people")
    suppressed = page.locator("#people-register-breakdown .ag-cell", has_text="<5")
    assert suppressed.count() == 3  # Other or unknown: under 18, over 60, unknown age
    assert suppressed.first.evaluate("e => getComputedStyle(e).textAlign") == "right"
    countries = page.inner_text("#people-register-countries")
    assert countries.count("not collected") == 8 and "2,336" in countries  # BG FR HU IT, twice each


def in_view(page, grid: str, column: str) -> bool:
    """Whether a grid's column header lies wholly inside the grid, unscrolled."""
    return page.evaluate("""([grid, column]) => {
        const box = document.querySelector(`#${grid} .ag-root-wrapper`).getBoundingClientRect();
        const cell = document.querySelector(`#${grid} .ag-header-cell[col-id="${column}"]`);
        if (!cell) return false;
        const own = cell.getBoundingClientRect();
        return own.width > 0 && own.left >= box.left - 1 && own.right <= box.right + 1;
    }""", [grid, column])


def test_the_key_columns_are_in_view_at_1440_px(wide, dashboard_url):
    for path, (grid, columns) in KEY_COLUMNS.items():
        shown(wide, dashboard_url + path)
        assert [c for c in columns if not in_view(wide, grid, c)] == [], path


def test_the_first_two_columns_are_in_view_on_a_phone(phone, dashboard_url):
    for path, (grid, _columns) in KEY_COLUMNS.items():
        shown(phone, dashboard_url + path)
        first = phone.evaluate(f"[...document.querySelectorAll('#{grid} .ag-header-row-column "
                               ".ag-header-cell')].slice(0, 2).map(c => c.getAttribute('col-id'))")
        pinned = phone.evaluate(f"[...document.querySelectorAll('#{grid} .ag-pinned-left-header "
                                ".ag-header-cell')].map(c => c.getAttribute('col-id'))")
        assert len([*pinned, *first][:2]) == 2
        assert [c for c in [*pinned, *first][:2] if not in_view(phone, grid, c)] == [], path


def test_the_export_pack_downloads_as_xlsx_and_zip_and_opens(wide, dashboard_url, tmp_path):
    shown(wide, f"{dashboard_url}/export")
    assert "Final report" in wide.inner_text("#export-period")  # the latest quarter falls in it
    choose(wide, "#export-period", "Interim report: 2021-Q4 to 2022-Q4")
    wide.wait_for_function("document.querySelector('#export-preview h2').innerText"
                           ".endsWith('2021-Q4..2022-Q4, as of 2022-Q4')")
    assert wide.inner_text("#export-to") == "2022-Q4" and wide.inner_text("#export-as-of") == "2022-Q4"
    preview = wide.locator('#export-preview-table .ag-row[row-index="3"] [col-id="Cumulative to 2022-Q4"]')
    assert preview.inner_text() == "563,400"  # migrants reached, as the pack will say
    with wide.expect_download() as info:
        wide.click("#export-button")
    download = info.value
    assert re.fullmatch(r"MVH_export_2021-Q4_2022-Q4_\w+\.xlsx", download.suggested_filename)
    download.save_as(tmp_path / download.suggested_filename)
    rows = {row["KPI id"]: row for row in sheet(tmp_path / download.suggested_filename, "KPI summary")}
    assert rows["migrants_reached"]["Cumulative to 2022-Q4"] == 563_400
    assert rows["unique_participants"]["BG"] == "not collected"
    choose(wide, "#export-as-of", "2023-Q4")  # corrections reported since: the same period, later data
    wide.wait_for_function("document.querySelector('#export-preview h2').innerText.endsWith('as of 2023-Q4')")
    choose(wide, "#export-format", "CSV files (.zip)")
    with wide.expect_download() as info:
        wide.click("#export-button")
    download = info.value
    assert re.fullmatch(r"MVH_export_2021-Q4_2022-Q4_as_of_2023-Q4_\w+\.zip", download.suggested_filename)
    download.save_as(tmp_path / "pack.zip")
    with zipfile.ZipFile(tmp_path / "pack.zip") as archive:
        assert "02_kpi_summary.csv" in archive.namelist()
        assert "Cumulative to 2023-Q4" in archive.read("02_kpi_summary.csv").decode("utf-8-sig")


# the texts of each chart that must not overlap one another: labels, titles, ticks
CHART_TEXTS = {
    "/countries?kpi=migrants_reached&as_of=2022-Q3": ["#countries-map .scattergeo text"],
    "/countries?as_of=2023-Q1": ["#countries-map .scattergeo text"],
    "/": ["#overview-progress .infolayer .annotation-text, #overview-progress .xtick text, "
          "#overview-progress .legendtext"],  # titles, targets, dates and legend, one another too
    "/trends?kpi=councils_established": ["#trends-countries .annotation-text",
                                         "#trends-countries .xtick text", "#trends-chart .xtick text"],
    "/trends?kpi=migrants_reached&as_of=2023-Q1": ["#trends-countries .annotation-text",
                                                   "#trends-chart .xtick text"],
}


def boxes(page, selector: str) -> list[dict]:
    return page.evaluate("""selector => [...document.querySelectorAll(selector)]
        .filter(e => e.textContent.trim()).map(e => {
            const r = e.getBoundingClientRect();
            return {text: e.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
        })""", selector)


def overlapping(found: list[dict]) -> list[tuple[str, str]]:
    return [(a["text"], b["text"]) for a, b in itertools.combinations(found, 2)
            if a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
            and a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5]


@pytest.mark.parametrize("screen", ["wide", "phone"])
def test_chart_and_map_labels_never_overlap_nor_leave_the_map(screen, request, dashboard_url):
    page = request.getfixturevalue(screen)
    for path, selectors in CHART_TEXTS.items():
        shown(page, dashboard_url + path)
        for selector in selectors:
            page.wait_for_selector(selector)
            found = boxes(page, selector)
            assert len(found) >= 3, (path, selector)
            assert overlapping(found) == [], (screen, path, selector)
        if "countries" in path:  # every label inside the map, with its figure
            frame = page.locator("#countries-map .geo").first.bounding_box()
            left, right = frame["x"] - 1, frame["x"] + frame["width"] + 1
            for label in boxes(page, "#countries-map .scattergeo text"):
                assert left <= label["left"] and label["right"] <= right, label
                assert re.fullmatch(r"[A-Z]{2} \S \S+", label["text"]), label


def test_every_status_colour_reads_on_its_badge(wide, dashboard_url, reg):
    shown(wide, f"{dashboard_url}/indicators")  # the status rule, a badge for each status
    badges = wide.evaluate("""[...document.querySelectorAll('main .status')].map(e => {
        const style = getComputedStyle(e);
        return [e.textContent, style.color, style.backgroundColor];
    })""")
    labels = {s.label for s in reg.status_rule.statuses.values()}
    assert labels <= {text[1:] for text, _, _ in badges}  # every status, after its symbol

    def hex_colour(css: str) -> str:
        return "#" + "".join(f"{int(n):02x}" for n in re.findall(r"\d+", css)[:3])

    ratios = {text: contrast(hex_colour(colour), hex_colour(background))
              for text, colour, background in badges}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios


def test_the_grid_shows_the_value_against_the_plan_its_status_judges(wide, dashboard_url):
    shown(wide, f"{dashboard_url}/?as_of=2022-Q1")
    cell = [line for line in wide.inner_text("#overview-grid-BG-councils_established").split("\n") if line]
    assert cell == ["0 / 0 planned", "target 1", "●", "On track"]  # not "0 / 1 · On track"


def test_trends_open_on_the_largest_target_and_say_how_they_project(wide, dashboard_url):
    shown(wide, f"{dashboard_url}/trends")
    assert wide.inner_text("#trends-kpi") == "Migrants reached"
    assert "Projection made as of" in wide.inner_text(".page-head")
    assert wide.inner_text("#trends-outlook") == (
        "Final position at 2023-Q4, the project's last quarter: 1,046,634 migrants, 105% of the "
        "target of 1,000,000.")
    shown(wide, f"{dashboard_url}/trends?as_of=2023-Q1")
    assert wide.inner_text("#trends-outlook").startswith("Projected for 2023-Q4: ~1,025,351 migrants")
    assert "Migrants in the council's territory" in wide.inner_text("#trends-method")
    assert wide.inner_text("#trends-backtest-note").startswith(
        "Checked on this project up to 2023-Q4: projections made 3 quarter(s) ahead were off by 41%")

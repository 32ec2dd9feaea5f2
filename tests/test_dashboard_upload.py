"""The upload page in headless Chromium: a good and a bad workbook checked, the marked copy, the
template; a partner submitting its workbook, and another country's."""

from __future__ import annotations

import subprocess

import duckdb
import pytest
from openpyxl import load_workbook

from tests.conftest import SOFFICE, need
from tests.workbooks import edited

pytestmark = pytest.mark.browser


def open_upload(page, dashboard_url, mode: str = "check"):
    """The upload page; "check" only checks (the demo database is shared by the tests)."""
    page.goto(f"{dashboard_url}/upload")
    page.wait_for_selector("#upload-file")
    page.check(f"#upload-mode input[value={mode}]")


def drop(page, path):
    page.set_input_files("#upload-file input[type=file]", str(path))
    page.wait_for_selector("#upload-verdict", timeout=60_000)


def test_a_good_workbook_has_no_errors(page, dashboard_url, demo_dir):
    open_upload(page, dashboard_url)
    drop(page, demo_dir / "AT_2022-Q3.xlsx")
    assert "No errors" in page.inner_text("#upload-verdict")
    assert "Nothing was loaded" in page.inner_text("#upload-verdict")  # only checked, and says so
    assert page.locator(".verdict-checked").count() == 1 and page.locator(".status").count() == 0
    assert page.locator("#upload-findings").count() == 0


def test_the_drop_zone_is_large_and_answers_any_file(page, dashboard_url, demo_dir, tmp_path):
    """A drop zone people see; a PDF gets a message, an .ods saved by LibreOffice is checked."""
    open_upload(page, dashboard_url)
    box = page.locator("#upload-file").bounding_box()
    assert box["height"] >= 80 and "(.xlsx)" in page.inner_text("#upload-file")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    drop(page, pdf)
    assert "not a spreadsheet workbook (.xlsx or .ods)" in page.inner_text("#upload-findings")
    soffice = need(SOFFICE, "LibreOffice")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless", "--convert-to",
                    "ods", "--outdir", str(tmp_path), str(demo_dir / "AT_2022-Q3.xlsx")],
                   check=True, capture_output=True, timeout=180)
    page.evaluate("document.querySelector('#upload-verdict').textContent = 'waiting'")
    page.set_input_files("#upload-file input[type=file]", str(tmp_path / "AT_2022-Q3.ods"))
    page.wait_for_function("document.querySelector('#upload-verdict').textContent.includes('No errors')",
                           timeout=60_000)


def test_a_bad_workbook_lists_its_findings_in_the_readers_language(page, dashboard_url, demo_dir, reg,
                                                                     tmp_path):
    sheet = reg.sheet("activities").label("hu")
    bad = edited(demo_dir / "HU_2023-Q1.xlsx", tmp_path / "HU_2023-Q1.xlsx", {(sheet, "H3"): 500})
    open_upload(page, dashboard_url)
    drop(page, bad)
    assert "1 error(s): the workbook would be refused" in page.inner_text("#upload-verdict")
    cells = page.locator("#upload-findings tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["error", sheet, "G3"]
    assert "'Female'" in cells[4]  # in the reader's language (the manager's English), not the workbook's
    with page.expect_download() as info:
        page.click("#upload-annotated-button")
    assert info.value.suggested_filename == "HU_2023-Q1.checked.xlsx"  # after the partner's file
    marked = tmp_path / "marked.xlsx"
    info.value.save_as(marked)
    wb = load_workbook(marked)
    assert wb.worksheets[0]["C2"].value == "G3"
    assert wb[sheet]["G3"].comment is not None


def test_the_same_file_dropped_twice_is_checked_twice(page, dashboard_url, demo_dir):
    open_upload(page, dashboard_url)
    drop(page, demo_dir / "AT_2022-Q3.xlsx")
    page.evaluate("document.querySelector('#upload-verdict').textContent = 'waiting'")
    page.set_input_files("#upload-file input[type=file]", str(demo_dir / "AT_2022-Q3.xlsx"))
    page.wait_for_function("document.querySelector('#upload-verdict').textContent.includes('No errors')",
                           timeout=60_000)


def test_the_template_downloads_prefilled_or_blank(page, dashboard_url, reg, tmp_path):
    """Austria's last quarter starts with its council as last reported; blank on request."""
    open_upload(page, dashboard_url)
    councils = reg.sheet("councils").label("de")
    for blank in (False, True):
        if blank:
            page.check("#upload-template-blank input[value=blank]")
        with page.expect_download() as info:
            page.click("#upload-template-button")
        path = tmp_path / f"{blank}.xlsx"
        info.value.save_as(path)
        assert info.value.suggested_filename == f"MVH_AT_{reg.quarters[-1]}.xlsx"
        wb = load_workbook(path)
        assert reg.sheet("cover").label("de") in wb.sheetnames
        assert wb[councils]["A3"].value == (None if blank else "AT-C1")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory, demo_dir, reg):
    """A dashboard of its own, on a database with Romania's reports up to 2023-Q3."""
    from pipelines import ingest
    from tests.conftest import served

    db = tmp_path_factory.mktemp("submit") / "mvh.duckdb"
    ingest.ingest(sorted(p for p in demo_dir.glob("RO_*.xlsx") if "2023-Q4" not in p.name), reg, db)
    with served(db) as url:
        yield url, db


def test_a_partner_submits_its_workbook_and_it_counts(browser, own_server, demo_dir, reg, tmp_path):
    from tests.conftest import sign_in

    url, db = own_server
    page = browser.new_page()
    sign_in(page, url, "partner-ro")
    assert "RO" in page.inner_text("#account-name")
    open_upload(page, url, mode="submit")
    # a column of the partner's own beside the outreach table: loaded, with a warning
    mine = edited(demo_dir / "RO_2023-Q4.xlsx", tmp_path / "RO_2023-Q4.xlsx",
                  {(reg.sheet("outreach").label("ro"), "G2"): "Checked by"})
    drop(page, mine)
    assert "Loaded as RO 2023-Q4 version 1" in page.inner_text("#upload-verdict")
    assert page.get_attribute("#upload-explain", "href") == "/quality?country=RO&quarter=2023-Q4"
    effect = page.inner_text("#upload-effect")  # what the new version did to Romania's KPIs
    assert "Effect on the KPIs of Romania (RO) as of 2023-Q4" in effect and "Migrants reached" in effect
    assert "→" in effect
    page.click("#upload-explain")  # the partner explains the warning to the coordination
    page.locator("#quality-findings .ag-center-cols-container .ag-row", has_text="Ignored column").click()
    page.fill("#quality-note", "Our own check column")
    page.click("#quality-explain")
    page.wait_for_function("document.querySelector('#quality-note-result').textContent !== ''")
    assert page.inner_text("#quality-note-result") == "Explanation sent."
    open_upload(page, url, mode="submit")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT uploaded_by FROM submissions WHERE country = 'RO' AND quarter = "
                           "'2023-Q4'").fetchall() == [("partner-ro",)]
    drop(page, demo_dir / "BG_2023-Q4.xlsx")
    page.wait_for_selector("#upload-verdict", state="visible")  # the loading overlay gone
    assert "the workbook was not loaded" in page.locator("#upload-verdict").text_content()
    assert "RO" in page.inner_text("#upload-findings")  # says whose country the account may submit for
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM submissions WHERE country = 'BG'").fetchone() == (0,)
    page.close()

"""The upload page in headless Chromium: a good and a bad workbook, the marked copy, the template."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.workbooks import edited

pytestmark = pytest.mark.browser


def open_upload(page, dashboard_url):
    page.goto(f"{dashboard_url}/upload")
    page.wait_for_selector("#upload-file")


def drop(page, path):
    page.set_input_files("#upload-file input[type=file]", str(path))
    page.wait_for_selector("#upload-verdict", timeout=60_000)


def test_a_good_workbook_has_no_errors(page, dashboard_url, demo_dir):
    open_upload(page, dashboard_url)
    drop(page, demo_dir / "AT_2022-Q3.xlsx")
    assert "No errors" in page.inner_text("#upload-verdict")
    assert page.locator("#upload-findings").count() == 0


def test_a_bad_workbook_lists_its_findings_in_the_partners_language(page, dashboard_url, demo_dir, reg,
                                                                     tmp_path):
    sheet = reg.sheet("activities").label("hu")
    bad = edited(demo_dir / "HU_2023-Q1.xlsx", tmp_path / "HU_2023-Q1.xlsx", {(sheet, "H3"): 500})
    open_upload(page, dashboard_url)
    drop(page, bad)
    assert "1 error(s)" in page.inner_text("#upload-verdict")
    cells = page.locator("#upload-findings tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["error", sheet, "G3"]
    assert "'Nők'" in cells[4]  # the Hungarian label of 'Female'
    with page.expect_download() as info:
        page.click("#upload-annotated-button")
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


def test_the_blank_template_downloads(page, dashboard_url, reg, tmp_path):
    open_upload(page, dashboard_url)
    with page.expect_download() as info:
        page.click("#upload-template-button")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert info.value.suggested_filename == f"MVH_AT_{reg.quarters[-1]}.xlsx"
    assert reg.sheet("cover").label("de") in load_workbook(path).sheetnames

"""The generated template: sheets, stamp, protection, drop-downs, help, errors, LibreOffice."""

from __future__ import annotations

import subprocess

import pytest
from openpyxl import load_workbook

from pipelines.declaration import template
from pipelines.intake import messages, read
from tests.conftest import SOFFICE, need


def sheet_name(reg, sheet_id: str, lang: str = "bg") -> str:
    """The sheet's name in a workbook of this language."""
    return reg.sheet(sheet_id).label(lang)


@pytest.fixture(scope="module")
def bg_path(tmp_path_factory, reg):
    return template.write(reg, "BG", "2022-Q3", tmp_path_factory.mktemp("tpl") / "BG.xlsx")


@pytest.fixture(scope="module")
def bg(bg_path):
    return load_workbook(bg_path)


def test_sheets_are_named_in_bulgarian_in_order(reg, bg):
    tables = [sheet_name(reg, s) for s in ("councils", "authorities", "activities", "outreach", "register")]
    assert bg.sheetnames == [
        reg.template.instructions_title["bg"], "_lists", sheet_name(reg, "cover"), *tables, "_stamp"
    ]
    assert bg.sheetnames[0] == "Указания" and tables[2] == "Дейности"


def test_instructions_are_in_bulgarian(reg, bg):
    ws = bg[reg.template.instructions_title["bg"]]
    assert ws["A3"].value == reg.template.instructions["bg"].splitlines()[0]
    assert ws["A3"].value == "Как да попълните този файл"


def test_workbook_opens_on_the_cover(reg, bg):
    assert bg.active.title == sheet_name(reg, "cover")


def test_stamp_is_very_hidden_and_names_version_country_quarter(bg):
    ws = bg["_stamp"]
    stamp = {row[0]: row[1] for row in ws.iter_rows(values_only=True)}
    assert ws.sheet_state == "veryHidden"
    assert {k: stamp[k] for k in ("template_version", "country", "quarter", "language")} == {
        "template_version": "1.0", "country": "BG", "quarter": "2022-Q3", "language": "bg"}


def test_lists_sheet_is_hidden(bg):
    assert bg["_lists"].sheet_state == "hidden"


def test_cover_is_protected_with_country_and_quarter_locked(reg, bg):
    ws = bg[sheet_name(reg, "cover")]
    assert ws.protection.sheet is True
    assert (ws["A3"].value, ws["B3"].value, ws["B3"].protection.locked) == ("Държава", "BG", True)
    assert (ws["A4"].value, ws["B4"].value, ws["B4"].protection.locked) == (
        "Тримесечие", "2022-Q3", True)


def test_cover_input_cells_are_unlocked(reg, bg):
    ws = bg[sheet_name(reg, "cover")]
    fields = reg.sheet("cover").fields
    unlocked = {f.id: ws.cell(row=r, column=2).protection.locked is False
                for r, f in enumerate(fields, start=3)}
    assert unlocked == {"country": False, "quarter": False, "partner": True,
                        "reported_by": True, "email": True, "submitted_on": True, "notes": True}
    assert ws["B5"].value == "Workshop for Civic Initiatives Foundation"


def _validation_at(ws, cell: str):
    found = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
    assert len(found) == 1, f"{len(found)} validations cover {ws.title}!{cell}"
    return found[0]


def test_choice_column_has_list_validation_on_the_lists_sheet(reg, bg):
    dv = _validation_at(bg[sheet_name(reg, "activities")], "D3")  # activity_type
    assert (dv.type, dv.formula1) == ("list", "'_lists'!$E$2:$E$10")
    assert str(dv.sqref) == "D3:D502"
    listed = [c.value for c in bg["_lists"]["E"][:10]]
    assert listed == ["activity_type", *(reg.code_lists["activity_type"][c]["bg"]
                                         for c in reg.code_lists["activity_type"])]
    assert listed[3] == "Обучение"


def test_integer_column_has_whole_number_validation_from_zero(reg, bg):
    dv = _validation_at(bg[sheet_name(reg, "activities")], "G3")  # participants_total
    assert (dv.type, dv.operator, dv.formula1, str(dv.sqref)) == (
        "whole", "greaterThanOrEqual", "0", "G3:G502")


def test_date_column_has_date_validation_and_format(reg, bg):
    ws = bg[sheet_name(reg, "activities")]
    dv = _validation_at(ws, "E3")  # start_date
    assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("date", "between", "36526", "73051")
    assert ws["E3"].number_format == ws["E502"].number_format == "DD.MM.YYYY"  # as Bulgarians write


@pytest.mark.parametrize(("lang", "shown"),
                         [("hu", "YYYY.MM.DD."), ("de", "DD.MM.YYYY"), ("fr", "DD/MM/YYYY")])
def test_date_cells_show_dates_as_the_help_says(reg, lang, shown):
    wb = template.build(reg, "HU", "2022-Q3", lang)
    cover = wb[reg.cover.label(lang)]
    row = 3 + [f.id for f in reg.cover.fields].index("submitted_on")
    assert cover[f"B{row}"].number_format == shown
    help_cell = cover[f"C{row}"].value
    assert messages.dates(lang)["date_format"] in help_cell


@pytest.mark.parametrize("sheet_id", ["councils", "authorities", "activities", "outreach"])
def test_each_header_has_the_field_label_and_help_comment(reg, bg, sheet_id):
    ws = bg[sheet_name(reg, sheet_id)]
    fields = reg.sheet(sheet_id).fields
    headers = [(c.value, c.comment.text if c.comment else None) for c in ws[2][: len(fields)]]
    assert headers == [(f.labels["bg"], template.help_text(f, "bg")) for f in fields]
    assert all("{" not in comment for _, comment in headers)  # every placeholder written out


def test_english_template_for_bulgaria(reg, tmp_path):
    wb = load_workbook(template.write(reg, "BG", "2022-Q3", tmp_path / "en.xlsx", lang="en"))
    stamp = {row[0]: row[1] for row in wb["_stamp"].iter_rows(values_only=True)}
    assert wb.sheetnames == ["Instructions", "_lists", "Cover", "Councils", "Authorities",
                             "Activities", "Outreach", "Register", "_stamp"]
    assert (stamp["country"], stamp["quarter"], stamp["language"]) == ("BG", "2022-Q3", "en")
    assert (wb["Cover"]["A3"].value, wb["Cover"]["B3"].value) == ("Country", "BG")


def test_blank_template_reads_back_without_findings(reg, bg_path):
    book = read.read(bg_path, reg)
    assert book.findings == []
    assert (book.country, book.quarter, book.stamp["template_version"]) == ("BG", "2022-Q3", "1.0")
    assert [len(book.sheets[s].frame) for s in ("councils", "activities")] == [0, 0]


@pytest.mark.parametrize(
    ("country", "quarter", "lang", "error", "says"),
    [
        ("XX", "2022-Q3", None, KeyError, "unknown country 'XX'; the project's countries are AT,"),
        ("BG", "2021-Q3", None, ValueError, "2021-Q3 is outside the project period (2021-Q4 to"),
        ("BG", "2024-Q1", None, ValueError, "outside the project period (2021-Q4 to 2023-Q4)"),
        ("BG", "2022Q3", None, ValueError, "2022Q3' is not a quarter; write it as 2022-Q3"),
        ("BG", "2022-Q3", "es", ValueError, "unknown language 'es'; choose one of en, de, bg"),
    ],
)
def test_bad_arguments_are_refused_with_a_helpful_message(reg, tmp_path, country, quarter, lang,
                                                          error, says):
    path = tmp_path / "t.xlsx"
    with pytest.raises(error) as caught:
        template.write(reg, country, quarter, path, lang=lang)
    assert says in str(caught.value)
    assert not path.exists()


def test_libreoffice_opens_the_template(bg_path, tmp_path):
    soffice = need(SOFFICE, "LibreOffice")
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(bg_path)],
        capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "pdf" / "BG.pdf"
    assert result.returncode == 0, result.stderr
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 1000

"""Reading partner workbooks: cells, LibreOffice, lenient values, moved columns, hostile files."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines.intake import container, read
from tests.conftest import SOFFICE, need
from tests.workbooks import edited

DEMO = "BG_2022-Q3.xlsx"


def sheet_name(reg, sheet_id: str, lang: str = "bg") -> str:
    """The sheet's name in a workbook of this language."""
    return reg.sheet(sheet_id).label(lang)


def rules(book) -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.sheet, f.cell, f.value) for f in book.findings]


@pytest.fixture(scope="module")
def demo(demo_dir, reg):
    return read.read(demo_dir / DEMO, reg)


def read_edited(reg, demo_dir, tmp_path, sheet_id, cell, value):
    path = edited(demo_dir / DEMO, tmp_path / "e.xlsx", {(sheet_name(reg, sheet_id), cell): value})
    return read.read(path, reg)


# ---- cell addresses ------------------------------------------------------------------------


def test_demo_reads_without_findings(demo):
    assert demo.findings == []
    assert (demo.country, demo.quarter) == ("BG", "2022-Q3")
    assert {s: len(d.frame) for s, d in demo.sheets.items()} == {
        "cover": 1, "councils": 1, "authorities": 2, "activities": 2, "outreach": 4}


def test_table_values_keep_their_cell(reg, demo):
    acts = demo.sheets["activities"]
    first = acts.frame.iloc[0]
    assert acts.name == sheet_name(reg, "activities") == "Дейности"
    assert (first["_row"], first["participants_total"]) == (3, 22)
    assert acts.cell("participants_total", 3) == "G3"
    assert acts.cell("activity_type", 4) == "D4"
    assert acts.frame["_row"].tolist() == [3, 4]


def test_cover_values_keep_their_cell(demo):
    cover = demo.sheets["cover"]
    assert cover.cell("quarter") == "B4"
    assert cover.cells == {"country": "B3", "quarter": "B4", "partner": "B5", "reported_by": "B6",
                           "email": "B7", "submitted_on": "B8", "notes": "B9"}
    assert demo.cover["submitted_on"] == pd.Timestamp("2022-10-06")


# ---- a workbook saved again by LibreOffice -------------------------------------------------


@pytest.fixture(scope="module")
def resaved(demo_dir, tmp_path_factory, reg):
    soffice = need(SOFFICE, "LibreOffice")
    tmp = tmp_path_factory.mktemp("lo")
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp / 'profile'}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(tmp / "out"), str(demo_dir / DEMO)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    path = tmp / "out" / DEMO
    assert path.read_bytes() != (demo_dir / DEMO).read_bytes()  # really written again
    return read.read(path, reg)


@pytest.mark.parametrize("sheet_id", ["cover", "councils", "authorities", "activities", "outreach"])
def test_libreoffice_resave_reads_to_identical_frames(demo, resaved, sheet_id):
    assert resaved.findings == []
    pd.testing.assert_frame_equal(resaved.sheets[sheet_id].frame, demo.sheets[sheet_id].frame)
    mine, theirs = resaved.sheets[sheet_id], demo.sheets[sheet_id]
    assert (mine.name, mine.columns, mine.cells) == (theirs.name, theirs.columns, theirs.cells)


def test_libreoffice_resave_keeps_the_stamp(demo, resaved):
    assert resaved.stamp == demo.stamp
    assert resaved.stamp["country"] == "BG"


# ---- lenient values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("1 234", 1234), ("1.234", 1234), ("1,234", 1234), ("\u00a012\u00a0", 12),
     ("1\u202f234", 1234), (" 12 ", 12), ("12", 12), (12.0, 12)],
)
def test_whole_numbers_typed_as_text(reg, demo_dir, tmp_path, typed, expected):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "G3", typed)
    assert book.findings == []
    assert book.sheets["activities"].frame.loc[0, "participants_total"] == expected


@pytest.mark.parametrize(("typed", "shown", "rule"), [
    ("12,5", "12,5", "not_whole"),
    (12.5, "12.5", "not_whole"),
    ("1.234,5", "1.234,5", "ambiguous_number"),
    ("12 persons", "12 persons", "not_a_number"),
])
def test_fraction_or_words_in_whole_number_field_is_a_finding(reg, demo_dir, tmp_path,
                                                              typed, shown, rule):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "O3", typed)
    assert rules(book) == [(rule, "Дейности", "O3", shown)]
    assert book.findings[0].message.startswith(f"'{shown}' in 'Third-country nationals' ")
    assert pd.isna(book.sheets["activities"].frame.loc[0, "third_country_nationals"])


def test_a_column_typed_wrong_throughout_lists_fifty_cells_and_counts_the_rest(reg, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    sheet = wb[sheet_name(reg, "outreach")]
    for row in range(3, 3 + 130):
        sheet[f"A{row}"], sheet[f"D{row}"] = f"O-{row}", f"{row} people"
    wb.save(tmp_path / "wrong.xlsx")
    found = [f for f in read.read(tmp_path / "wrong.xlsx", reg).findings if f.cell.startswith("D")]
    assert [f.rule for f in found] == ["not_a_number"] * 50 + ["more_cells"]
    assert (found[-1].cell, dict(found[-1].params)["count"]) == ("D53", "80")
    assert found[-1].message.startswith("... and 80 more cells of column")


@pytest.mark.parametrize("typed", ["31/03/2022", "31.03.2022", "2022-03-31", "31-03-2022",
                                   dt.datetime(2022, 3, 31), " 31/03/2022\u00a0"])
def test_dates_typed_in_several_ways(reg, demo_dir, tmp_path, typed):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "E3", typed)
    assert book.findings == []
    assert book.sheets["activities"].frame.loc[0, "start_date"] == pd.Timestamp("2022-03-31")


def test_date_as_excel_serial_number(reg, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    cell = wb[sheet_name(reg, "activities")]["E3"]
    cell.value, cell.number_format = 44651, "General"  # shown as a plain number
    wb.save(tmp_path / "serial.xlsx")
    book = read.read(tmp_path / "serial.xlsx", reg)
    assert book.findings == []
    assert book.sheets["activities"].frame.loc[0, "start_date"] == pd.Timestamp("2022-03-31")


def test_text_that_is_not_a_date_is_a_type_finding(reg, demo_dir, tmp_path):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "E4", "March 31st")
    assert rules(book) == [("not_a_date", "Дейности", "E4", "March 31st")]
    assert "dd/mm/yyyy" in book.findings[0].fix


@pytest.mark.parametrize("typed", ["Training", "training", "Schulung", "Formation", "  ОБУЧЕНИЕ ",
                                   "Κατάρτιση"])
def test_coded_value_as_code_or_label_in_any_language(reg, demo_dir, tmp_path, typed):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "D4", typed)
    assert book.findings == []
    assert book.sheets["activities"].frame["activity_type"].tolist() == ["training", "training"]


def test_unknown_coded_value_is_kept_as_typed(reg, demo_dir, tmp_path):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "D3", " Пикник ")
    assert book.findings == []
    assert book.sheets["activities"].frame.loc[0, "activity_type"] == "Пикник"


# ---- moved columns, blank rows ---------------------------------------------------------------


def test_swapped_columns_read_right_with_their_new_cells(reg, demo, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    ws = wb[sheet_name(reg, "activities")]
    for row in range(2, ws.max_row + 1):  # participants_total (G) <-> female (H)
        ws[f"G{row}"].value, ws[f"H{row}"].value = ws[f"H{row}"].value, ws[f"G{row}"].value
    wb.save(tmp_path / "moved.xlsx")
    book = read.read(tmp_path / "moved.xlsx", reg)
    acts = book.sheets["activities"]
    assert book.findings == []
    assert (acts.columns["participants_total"], acts.columns["female"]) == ("H", "G")
    assert acts.cell("participants_total", 3) == "H3"
    pd.testing.assert_frame_equal(acts.frame, demo.sheets["activities"].frame)


def test_blank_rows_are_skipped(reg, demo, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    ws = wb[sheet_name(reg, "activities")]
    for col in range(1, 17):  # move the second activity from row 4 to row 7
        ws.cell(row=7, column=col).value = ws.cell(row=4, column=col).value
        ws.cell(row=4, column=col).value = None
    wb.save(tmp_path / "gaps.xlsx")
    book = read.read(tmp_path / "gaps.xlsx", reg)
    frame = book.sheets["activities"].frame
    assert book.findings == []
    assert frame["_row"].tolist() == [3, 7]
    expected = demo.sheets["activities"].frame.assign(_row=[3, 7])
    pd.testing.assert_frame_equal(frame, expected)


def test_row_with_only_a_non_breaking_space_is_blank(reg, demo_dir, tmp_path):
    book = read_edited(reg, demo_dir, tmp_path, "activities", "C6", "\u00a0")
    assert book.sheets["activities"].frame["_row"].tolist() == [3, 4]


# ---- hostile and broken files ----------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _with_macros(demo_dir) -> bytes:
    with zipfile.ZipFile(demo_dir / DEMO) as source:
        entries = {e.filename: source.read(e) for e in source.infolist()}
    return _zip({**entries, "xl/vbaProject.bin": b"\x00" * 64})


HOSTILE = {
    "empty": (lambda d: b"", "empty", "The file is empty"),
    "pdf": (lambda d: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "not_xlsx",
            "not a spreadsheet workbook"),
    "csv": (lambda d: "activity_id;title\nBG-1;Обучение\n".encode(), "not_xlsx",
            "not a spreadsheet workbook (.xlsx or .ods)"),
    "xls": (lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "legacy_xls",
            "old .xls workbook"),
    "zip": (lambda d: _zip({"report.txt": b"hello"}), "not_xlsx",
            "not a spreadsheet workbook"),
    "macros": (_with_macros, "macros", "The workbook contains macros"),
    "damaged": (lambda d: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"junk"}),
                "damaged", "The workbook is damaged"),
    "bomb": (lambda d: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>",
                             "xl/big.xml": b"0" * 3_000_000}),
             "zip_bomb", "unpacks to far more data"),
}


@pytest.mark.parametrize(("size", "said"), [
    (21 * container.MB, "The file is 21.0 MB; the limit is 20 MB."),
    (20 * container.MB + 1, "The file is 20.1 MB; the limit is 20 MB."),
])
def test_a_file_over_the_limit_is_measured_in_the_limits_unit(size, said):
    [finding] = container.check(b"PK\x03\x04" + b"\0" * (size - 4))
    assert (finding.rule, finding.message) == ("too_large", said)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_file_gives_one_error_and_never_raises(demo_dir, reg, tmp_path, kind):
    make, rule, says = HOSTILE[kind]
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(make(demo_dir))
    book = read.read(path, reg)
    found = [(f.severity, f.rule, f.sheet, f.cell) for f in book.findings]
    assert found == [("error", rule, "", "")]
    assert says in book.findings[0].message
    assert book.sheets == {} and book.cover == {}


def test_check_container_accepts_the_demo_workbook(demo_dir):
    assert container.check((demo_dir / DEMO).read_bytes()) == []


def test_a_missing_sheet_is_a_finding(reg, demo_dir, tmp_path):
    wb = load_workbook(shutil.copy(demo_dir / DEMO, tmp_path / "m.xlsx"))
    del wb[sheet_name(reg, "outreach")]
    wb.save(tmp_path / "m.xlsx")
    book = read.read(tmp_path / "m.xlsx", reg)
    assert rules(book) == [("missing_sheet", sheet_name(reg, "outreach"), "", "")]
    assert "outreach" not in book.sheets and len(book.sheets["activities"].frame) == 2

"""Validation: a good workbook has no findings; each planted problem gives exactly its finding."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from pipelines.intake import read, validate
from tests.workbooks import copied, edited

DEMO = "BG_2022-Q3.xlsx"


def sheet_name(reg, sheet_id: str, country: str = "BG") -> str:
    """The sheet's name in a workbook of this country's language."""
    return reg.sheet(sheet_id).label(reg.country(country).language)


def where(found) -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.sheet, f.cell, f.value) for f in found]


def planted(reg, demo_dir, tmp_path, edits: dict, source: str = DEMO, name: str = "bad.xlsx"):
    """Read a copy of a demo workbook with cells changed: {(sheet id, cell): value}."""
    country = source[:2]
    named = {(sheet_name(reg, s, country), cell): v for (s, cell), v in edits.items()}
    return read.read(edited(demo_dir / source, tmp_path / name, named), reg)


def findings_of(reg, book):
    return validate.validate([book], reg)[book.sha256]


def test_a_demo_workbook_has_no_findings(reg, demo_dir):
    book = read.read(demo_dir / DEMO, reg)
    assert validate.validate([book], reg) == {book.sha256: []}


def test_all_demo_workbooks_in_one_batch_have_no_findings(reg, demo_dir):
    books = [read.read(p, reg) for p in sorted(demo_dir.glob("*.xlsx"))]
    result = validate.validate(books, reg)
    assert len(books) == len(result) == 71
    assert {sha: found for sha, found in result.items() if found} == {}


A, C, K = "Дейности", "Титулна страница", "Съвети"

def case(name: str, edits: dict, expected: list):
    return pytest.param(edits, expected, id=name)


PLANTED = [  # edits {(sheet id, cell): value} -> exactly [(rule, sheet, cell, value)]
    case("required title", {("activities", "C3"): None}, [("required", A, "C3", "")]),
    case("not allowed", {("activities", "D3"): "Пикник"}, [("allowed", A, "D3", "Пикник")]),
    case("negative count", {("councils", "J3"): -1}, [("min", K, "J3", "-1")]),
    case("sex parts", {("activities", "H3"): 11}, [("sum", A, "G3", "22")]),  # 11+12+0 != 22
    case("age parts", {("activities", "N4"): 3}, [("sum", A, "G4", "17")]),  # 0+16+1+3 != 17
    case("female above members", {("councils", "I3"): 20}, [("not_above", K, "I3", "20")]),
    case("start after end", {("activities", "E3"): dt.datetime(2022, 9, 27)},
         [("not_above", A, "E3", "27/09/2022")]),
    case("end after quarter", {("activities", "F3"): dt.datetime(2022, 10, 5)},
         [("date_after_quarter", A, "F3", "05/10/2022")]),
    case("end before quarter", {("activities", "E3"): dt.datetime(2022, 6, 15),
                                ("activities", "F3"): dt.datetime(2022, 6, 15)},
         [("date_before_quarter", A, "F3", "15/06/2022")]),
    case("duplicate id", {("activities", "A4"): "BG-22Q3-01"},
         [("unique", A, "A3", "BG-22Q3-01"), ("unique", A, "A4", "BG-22Q3-01")]),
    case("other country", {("cover", "B3"): "GR", ("cover", "B5"): "KMOP"},
         [("stamp_country", C, "B3", "GR")]),
    case("other quarter", {("cover", "B4"): "2022-Q4"}, [("stamp_quarter", C, "B4", "2022-Q4")]),
    case("foreign partner", {("cover", "B5"): "KMOP"}, [("partner", C, "B5", "KMOP")]),
    case("fraction", {("activities", "P3"): 12.5}, [("not_whole", A, "P3", "12.5")]),
    case("fraction in a required cell", {("activities", "G3"): "12,5"},
         [("not_whole", A, "G3", "12,5")]),
    case("required date", {("activities", "E3"): None}, [("required", A, "E3", "")]),
    case("required cover date", {("cover", "B8"): None}, [("required", C, "B8", "")]),
]


@pytest.mark.parametrize(("edits", "expected"), PLANTED)
def test_planted_problem_gives_exactly_its_finding(reg, demo_dir, tmp_path, edits, expected):
    found = findings_of(reg, planted(reg, demo_dir, tmp_path, edits))
    assert where(found) == expected
    assert {f.severity for f in found} == {"error"}


def test_finding_messages_quote_the_values(reg, demo_dir, tmp_path):
    sums = findings_of(reg, planted(reg, demo_dir, tmp_path, {("activities", "H3"): 11}))
    above = findings_of(reg, planted(reg, demo_dir, tmp_path, {("councils", "I3"): 20}, name="b"))
    assert sums[0].message == (
        "The parts ('Female', 'Male', 'Other or unknown sex') add up to 23, but 'Participants' is 22.")
    assert "whose sex is not known" in sums[0].fix
    assert above[0].message == "'Female members' (20) is more than 'Members' (18)."
    assert above[0].fix == "'Female members' can be at most 'Members'. Correct one of the two."


def test_country_changed_alone_also_mismatches_the_partner(reg, demo_dir, tmp_path):
    found = findings_of(reg, planted(reg, demo_dir, tmp_path, {("cover", "B3"): "GR"}))
    assert where(found) == [("stamp_country", C, "B3", "GR"),
                            ("partner", C, "B5", "Workshop for Civic Initiatives Foundation")]
    assert "made for BG" in found[0].message


def test_swapped_columns_mark_the_moved_cell(reg, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    ws = wb[A]
    for row in range(2, ws.max_row + 1):  # participants_total (G) <-> female (H)
        ws[f"G{row}"].value, ws[f"H{row}"].value = ws[f"H{row}"].value, ws[f"G{row}"].value
    ws["G3"] = 11  # female, now in column G: the sex parts no longer add up
    wb.save(tmp_path / "moved.xlsx")
    book = read.read(tmp_path / "moved.xlsx", reg)
    assert where(findings_of(reg, book)) == [("sum", A, "H3", "22")]


def test_workbook_without_stamp_is_refused_as_a_whole(reg, demo_dir, tmp_path):
    wb = load_workbook(demo_dir / DEMO)
    del wb["_stamp"]
    wb.save(tmp_path / "nostamp.xlsx")
    found = findings_of(reg, read.read(tmp_path / "nostamp.xlsx", reg))
    assert where(found) == [("missing_stamp", "", "", "")]
    assert "not made from the project's template" in found[0].message


def test_unreadable_file_keeps_its_reader_finding(reg, tmp_path):
    (tmp_path / "empty.xlsx").write_bytes(b"")
    book = read.read(tmp_path / "empty.xlsx", reg)
    assert where(findings_of(reg, book)) == [("empty", "", "", "")]


def test_batch_puts_each_finding_on_its_own_workbook(reg, demo_dir, tmp_path):
    good = read.read(copied(demo_dir / DEMO, tmp_path / "good.xlsx"), reg)
    greek = planted(reg, demo_dir, tmp_path, {("activities", "H3"): 99},
                    source="GR_2022-Q4.xlsx", name="gr.xlsx")
    french = planted(reg, demo_dir, tmp_path, {("councils", "I3"): 30, ("cover", "B5"): "KMOP"},
                     source="FR_2023-Q1.xlsx", name="fr.xlsx")
    (tmp_path / "empty.xlsx").write_bytes(b"")
    empty = read.read(tmp_path / "empty.xlsx", reg)
    result = validate.validate([good, greek, french, empty], reg)
    assert {sha: where(found) for sha, found in result.items()} == {
        good.sha256: [],
        greek.sha256: [("sum", "Δράσεις", "G3", "28")],
        french.sha256: [("partner", "Page de garde", "B5", "KMOP"),  # sheets in template order
                        ("not_above", "Conseils", "I3", "30")],
        empty.sha256: [("empty", "", "", "")],
    }


def test_batch_gives_the_same_findings_as_one_by_one(reg, demo_dir, tmp_path):
    books = [planted(reg, demo_dir, tmp_path, {("activities", "D3"): "Пикник"}, name="a.xlsx"),
             planted(reg, demo_dir, tmp_path, {("activities", "D3"): "Пикник",
                                               ("activities", "A4"): "X"}, name="b.xlsx")]
    together = validate.validate(books, reg)
    assert together == {b.sha256: findings_of(reg, b) for b in books}
    assert [len(together[b.sha256]) for b in books] == [1, 1]

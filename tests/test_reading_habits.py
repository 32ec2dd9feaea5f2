"""Workbooks filled in the way partners type: totals rows, codes and headers in any case and
without accents, dates in each language's customary forms; as openpyxl wrote them and as
LibreOffice saved them again."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines import check
from pipelines.declaration import registry, template
from pipelines.intake import messages, read
from tests.conftest import ROOT, SOFFICE, need
from tests.projects import workbooks

QUARTER = "2022-Q2"
MAY_10 = pd.Timestamp("2022-05-10")
DECLARATIONS = [ROOT / "indicators.yaml", ROOT / "tests" / "projects" / "civic_spaces" / "indicators.yaml"]


@dataclass(frozen=True)
class Habit:
    """A workbook of two activities, with cells typed over what the template's helper filled:
    `typed` by (sheet id, field id, row number of the table), `headers` by (sheet id, field id)."""

    country: str
    typed: dict[tuple[str, str, int], object] = field(default_factory=dict)
    headers: dict[tuple[str, str], str] = field(default_factory=dict)


def totals_row(word: str) -> dict[tuple[str, str, int], object]:
    """A third row under the two activities, adding them up under `word`."""
    return {("activities", "activity_id", 3): word, ("activities", "participants_total", 3): 32}


def typed_dates(start: str, end: str) -> dict[tuple[str, str, int], object]:
    """The first activity's start and end date, typed as text."""
    return {("activities", "start_date", 1): start, ("activities", "end_date", 1): end}


HABITS = {
    "greek_totals": Habit("GR", totals_row("ΣΥΝΟΛΟ")),
    "french_totals": Habit("FR", totals_row("Total général")),
    "codes_in_capitals": Habit("HU", {
        ("activities", "activity_type", 1): "KEPZES",
        ("activities", "activity_type", 2): " tarsadalmi  ORIENTACIOS tanfolyam"}),
    "headers_in_capitals": Habit("HU", headers={("activities", "start_date"): "KEZDES DATUMA",
                                                ("activities", "participants_total"): "résztvevők"}),
    "hungarian_dates": Habit("HU", typed_dates("2022. 05. 10.", "2022.05.10.")),
    "hungarian_short_date": Habit("HU", typed_dates("2022.5.10", "2022. 5. 10")),
    "bulgarian_dates": Habit("BG", typed_dates("10.05.2022 г.", "10.05.2022г.")),
    "two_digit_years": Habit("IT", typed_dates("10/5/22", " 10/05/22. ")),
    "hungarian_bad_date": Habit("HU", typed_dates("május 10.", "2022.05.10.")),
    "bulgarian_bad_date": Habit("BG", typed_dates("10 май 2022", "10.05.2022")),
}


def header_cell(reg, wb, sheet_id: str, field_id: str, lang: str) -> tuple[str, str]:
    """(sheet name, cell) of a table column's header."""
    return workbooks.cell_of(reg, wb, sheet_id, field_id, 0, lang)


def made(reg, habit: Habit, path: Path) -> Path:
    """The habit's workbook: two activities filled from the template, then typed over."""
    lang = reg.country(habit.country).language
    wb = workbooks.blank(reg, habit.country, QUARTER)
    plan = {"activities": [{"participants_total": 22}, {"participants_total": 10}]}
    workbooks.fill(wb, reg, habit.country, QUARTER, plan)
    where = {key: workbooks.cell_of(reg, wb, *key, lang) for key in habit.typed}
    where |= {key: header_cell(reg, wb, *key, lang) for key in habit.headers}
    for key, value in {**habit.typed, **habit.headers}.items():
        sheet, cell = where[key]
        wb[sheet][cell] = value
    wb.save(path)
    return path


@pytest.fixture(scope="session")
def written(tmp_path_factory, reg) -> Path:
    """Every habit's workbook as openpyxl writes it, in one folder."""
    folder = tmp_path_factory.mktemp("habits")
    for name, habit in HABITS.items():
        made(reg, habit, folder / f"{name}.xlsx")
    return folder


@pytest.fixture(scope="session")
def resaved(written, tmp_path_factory) -> Path:
    """Every habit's workbook opened and saved again by LibreOffice, in one run of it."""
    soffice = need(SOFFICE, "LibreOffice")
    work = tmp_path_factory.mktemp("habits_lo")
    sources = sorted(written.glob("*.xlsx"))
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{work / 'profile'}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(work / "out"), *map(str, sources)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for source in sources:
        assert (work / "out" / source.name).read_bytes() != source.read_bytes()
    return work / "out"


@pytest.fixture(params=["openpyxl", "libreoffice"])
def folder(request) -> Path:
    """The habits' workbooks as openpyxl wrote them, or as LibreOffice saved them again."""
    return request.getfixturevalue("written" if request.param == "openpyxl" else "resaved")


def checked(reg, folder: Path, name: str, tmp_path: Path) -> check.Checked:
    """`mvh check` of a habit's workbook, without a database."""
    return check.check(folder / f"{name}.xlsx", reg, tmp_path / "none.duckdb", mark_clean=False)


def errors(result: check.Checked) -> list[tuple[str, str, str]]:
    return [(f.rule, f.cell, f.value) for f in result.findings if f.severity == "error"]


def activities(result: check.Checked) -> pd.DataFrame:
    return result.book.sheets["activities"].frame


# ---- whole workbooks ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["greek_totals", "french_totals"])
def test_a_totals_row_is_skipped_with_a_warning_only(reg, folder, name, tmp_path):
    result = checked(reg, folder, name, tmp_path)
    assert errors(result) == []
    assert [(f.rule, f.cell) for f in result.findings] == [("totals_row", "A5")]
    assert activities(result)["_row"].tolist() == [3, 4]
    assert activities(result)["participants_total"].tolist() == [22, 10]


def test_a_code_typed_in_capitals_without_accents_is_its_code(reg, folder, tmp_path):
    result = checked(reg, folder, "codes_in_capitals", tmp_path)
    assert result.findings == []
    assert activities(result)["activity_type"].tolist() == ["training", "civic_orientation"]


def test_a_header_typed_in_another_case_finds_its_column(reg, folder, tmp_path):
    result = checked(reg, folder, "headers_in_capitals", tmp_path)
    assert result.findings == []
    read_sheet = result.book.sheets["activities"]
    assert (read_sheet.columns["start_date"], read_sheet.columns["participants_total"]) == ("E", "G")
    assert read_sheet.frame["participants_total"].tolist() == [22, 10]
    assert read_sheet.frame["start_date"].notna().all()


@pytest.mark.parametrize("name", ["hungarian_dates", "hungarian_short_date", "bulgarian_dates",
                                  "two_digit_years"])
def test_dates_in_the_customary_forms_read_as_the_day_meant(reg, folder, name, tmp_path):
    result = checked(reg, folder, name, tmp_path)
    assert result.findings == []
    first = activities(result).iloc[0]
    assert (first["start_date"], first["end_date"]) == (MAY_10, MAY_10)


@pytest.mark.parametrize(("name", "lang", "form", "example"), [
    ("hungarian_bad_date", "hu", "éééé.hh.nn.", "2022.03.31."),
    ("bulgarian_bad_date", "bg", "дд.мм.гггг", "31.03.2022"),
])
def test_an_unreadable_date_is_fixed_in_the_form_the_templates_help_shows(
        reg, folder, tmp_path, name, lang, form, example):
    result = checked(reg, folder, name, tmp_path)
    typed = HABITS[name].typed[("activities", "start_date", 1)]
    assert (result.lang, errors(result)) == (lang, [("not_a_date", "E3", typed)])
    [fix] = [f["fix"] for f in result.localised(reg) if f["rule"] == "not_a_date"]
    assert form in fix and example in fix
    wb = load_workbook(folder / f"{name}.xlsx")
    sheet, cell = header_cell(reg, wb, "activities", "start_date", lang)
    assert wb[sheet][cell].comment.text == f"{form} ({example})"
    cover = reg.cover
    row = template.FIRST_DATA_ROW + [f.id for f in cover.fields].index("submitted_on")
    assert f"({form})" in wb[cover.label(lang)].cell(row=row, column=3).value


# ---- the rules themselves -------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [
    ("2022. 05. 10.", "2022-05-10"), ("2022.05.10.", "2022-05-10"), ("2022.5.10", "2022-05-10"),
    ("10.05.2022 г.", "2022-05-10"), ("10.05.2022г.", "2022-05-10"), ("10/5/22", "2022-05-10"),
    ("1.5.2022", "2022-05-01"), ("1/5/2022", "2022-05-01"), ("2022-05-10", "2022-05-10"),
    ("\u00a010/05/2022. ", "2022-05-10"), ("10-05-2022", "2022-05-10"), ("05/10/2022", "2022-10-05"),
    ("29.02.24", "2024-02-29"),
])
def test_a_date_typed_as_text(typed, meant):
    assert read.to_date(typed) == dt.date.fromisoformat(meant)


@pytest.mark.parametrize("typed", [
    "May 10", "10/13/2022", "31/04/2022", "10.05/2022", "10//05/2022", "2022-05", "10/05",
    "1.2.3", "44691", "10/05/2022 12:00", "10.05.2022 гг.", "2022/05/10/", "10/05/2022..",
])
def test_text_that_is_no_date_stays_unreadable(typed):
    with pytest.raises(read.Unreadable, match="not_a_date"):
        read.to_date(typed)


@pytest.mark.parametrize(("typed", "label"), [
    ("ΣΥΝΟΛΟ", "σύνολο"), ("Total général", "total general"), ("OSSZESEN", "Összesen"),
    ("TOTAL", "total"), ("  Kezdés\u00a0 DÁTUMA *:", "kezdés dátuma"), ("ÎNFIINȚAT", "Înființat"),
])
def test_labels_are_compared_without_case_accents_or_extra_spaces(typed, label):
    assert read.normalise(typed) == read.normalise(label)


@pytest.fixture(scope="module", params=DECLARATIONS, ids=["mvh", "civic_spaces"])
def declared(request) -> registry.Registry:
    return registry.load(request.param)


def clashes(owners: dict[str, list[str]]) -> dict[str, set[str]]:
    """Labels, as the reader compares them, that name more than one thing."""
    folded: dict[str, set[str]] = {}
    for owner, labels in owners.items():
        for label in labels:
            folded.setdefault(read.normalise(label), set()).add(owner)
    return {label: found for label, found in folded.items() if len(found) > 1}


def test_no_two_codes_of_a_code_list_read_alike(declared):
    for name, codes in declared.code_lists.items():
        assert clashes({code: [code, *labels.values()] for code, labels in codes.items()}) == {}, name


def test_no_two_fields_or_sheets_read_alike(declared):
    sheets = declared.all_sheets
    assert clashes({s.id: [s.id, *s.labels.values()] for s in sheets}) == {}
    for sheet in sheets:
        assert clashes({f.id: [f.id, *f.labels.values()] for f in sheet.fields}) == {}, sheet.id


def test_no_total_label_is_a_coded_value(declared):
    totals = {read.normalise(w) for w in declared.template.total_labels}
    for name, codes in declared.code_lists.items():
        for code, labels in codes.items():
            assert not totals & {read.normalise(t) for t in [code, *labels.values()]}, (name, code)


def test_every_language_declares_a_date_form_the_reader_accepts(reg):
    declared = messages._document()[messages.DATE_FORMATS]
    assert set(reg.languages) <= set(declared)
    for lang in declared:
        shown = messages.dates(lang)
        assert read.to_date(shown["date_example"]) == messages.EXAMPLE_DAY, lang
        assert len(shown["date_format"]) == len(shown["date_example"]), lang


def test_every_date_help_shows_the_declared_form(reg):
    for sheet in reg.all_sheets:
        for f in sheet.fields:
            if f.type == "date":
                assert all("{date_format}" in text for text in f.help.values()), (sheet.id, f.id)

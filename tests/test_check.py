"""`mvh check`: all problems at once, in the partner's language, and the annotated workbook."""

from __future__ import annotations

import json
import subprocess

from openpyxl import load_workbook

from pipelines import check
from tests.conftest import SOFFICE, mvh, need
from tests.workbooks import edited

THREE_MISTAKES = {("activities", "H3"): 11, ("activities", "D4"): "Picknick", ("councils", "J3"): -1}


def planted(reg, demo_dir, tmp_path, country="BG", quarter="2022-Q3", edits=THREE_MISTAKES):
    lang = reg.country(country).language
    changes = {(reg.sheet(s).label(lang), cell): v for (s, cell), v in edits.items()}
    return edited(demo_dir / f"{country}_{quarter}.xlsx", tmp_path / f"{country}_{quarter}.xlsx", changes)


def test_three_mistakes_are_all_printed_in_the_partners_language(reg, demo_dir, tmp_path):
    bad = planted(reg, demo_dir, tmp_path)
    result = mvh("check", str(bad), "--json", "-o", str(tmp_path / "marked.xlsx"), check=False)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["lang"] == "bg"
    assert sorted((f["rule"], f["cell"]) for f in report["findings"]) == [
        ("allowed", "D4"),
        ("min", "J3"),
        ("sum", "G3"),
    ]
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert "'Жени'" in by_rule["sum"]["message"]  # the Bulgarian label of 'Female'
    assert "падащия списък" in by_rule["allowed"]["fix"]  # "drop-down list" in Bulgarian
    text = mvh("check", str(bad), "-o", str(tmp_path / "m2.xlsx"), check=False).stdout
    assert text.count("error") == 3 and "Дейности!G3" in text


def test_the_language_can_be_chosen(reg, demo_dir, tmp_path):
    bad = planted(reg, demo_dir, tmp_path)
    report = json.loads(
        mvh("check", str(bad), "--json", "--lang", "fr", "-o", str(tmp_path / "fr.xlsx"), check=False).stdout
    )
    assert {f["rule"]: f["fix"] for f in report["findings"]}[
        "allowed"
    ] == "Choisissez une valeur dans la liste déroulante."


def test_the_annotated_workbook_marks_the_cells(reg, demo_dir, tmp_path):
    bad = planted(reg, demo_dir, tmp_path)
    result = check.check(bad, reg, tmp_path / "none.duckdb", annotated=tmp_path / "marked.xlsx")
    wb = load_workbook(result.annotated)
    assert wb.sheetnames[0] == "Констатации"  # "Findings" in Bulgarian, in front
    findings = wb.worksheets[0]
    assert [c.value for c in findings[1]][:3] == ["Тежест", "Лист", "Клетка"]
    rows = {r[2].value: r for r in findings.iter_rows(min_row=2)}
    assert set(rows) == {"G3", "D4", "J3"}
    assert rows["G3"][2].hyperlink.location == "'Дейности'!G3"
    activities = wb["Дейности"]
    assert activities["G3"].fill.fgColor.rgb.endswith("F8B4B4")
    assert "11" in activities["G3"].comment.text or "23" in activities["G3"].comment.text
    assert activities["G4"].comment is None or "MVH" not in activities["G4"].comment.author
    assert wb["Съвети"]["J3"].comment is not None
    # a total that does not add up: its parts are marked too (women H3, men I3, other J3)
    assert [activities[c].fill.fgColor.rgb[-6:] for c in ("H3", "I3", "J3")] == ["F8B4B4"] * 3
    assert activities["K3"].comment is None  # an age bracket: not a part of this sum


def test_a_marked_copy_sent_back_is_read_without_its_findings_sheet(reg, demo_dir, tmp_path):
    bad = planted(reg, demo_dir, tmp_path)
    marked = check.check(bad, reg, tmp_path / "none.duckdb", annotated=tmp_path / "marked.xlsx").annotated
    again = check.check(marked, reg, tmp_path / "none.duckdb", annotated=tmp_path / "again.xlsx")
    found = sorted((f.rule, f.cell) for f in again.findings)
    assert found == [("allowed", "D4"), ("min", "J3"), ("sum", "G3")]  # no ignored_sheet warning


def test_a_good_workbook_gets_an_empty_findings_sheet(reg, demo_dir, tmp_path):
    result = check.check(
        demo_dir / "IT_2022-Q2.xlsx", reg, tmp_path / "none.duckdb", annotated=tmp_path / "ok.xlsx"
    )
    assert result.findings == []
    assert load_workbook(result.annotated).worksheets[0]["A2"].value == "Nessun problema trovato. Grazie!"


def test_the_annotated_workbook_opens_in_libreoffice(reg, demo_dir, tmp_path):
    office = need(SOFFICE, "LibreOffice")
    result = check.check(
        planted(reg, demo_dir, tmp_path), reg, tmp_path / "none.duckdb", annotated=tmp_path / "marked.xlsx"
    )
    subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(result.annotated),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert (tmp_path / "marked.pdf").read_bytes()[:4] == b"%PDF"


def test_check_does_not_touch_the_database(reg, demo_dir, tmp_path, db_path):
    from pipelines import ingest

    ingest.ingest([demo_dir / "BG_2022-Q2.xlsx"], reg, db_path)
    before = db_path.read_bytes()
    mvh("check", str(demo_dir / "BG_2022-Q3.xlsx"), "--db", str(db_path), "-o", str(tmp_path / "x.xlsx"))
    assert db_path.read_bytes() == before


def test_annotated_copies_are_never_ingested_from_a_folder(reg, demo_dir, tmp_path, db_path):
    from pipelines import ingest

    folder = tmp_path / "raw"
    good = edited(demo_dir / "AT_2022-Q1.xlsx", folder / "AT_2022-Q1.xlsx", {})
    check.check(good, reg, db_path)
    assert (folder / "AT_2022-Q1.checked.xlsx").exists()
    assert [o.path.name for o in ingest.ingest([folder], reg, db_path)] == ["AT_2022-Q1.xlsx"]

"""Workbooks saved by LibreOffice as OpenDocument (.ods): the same findings and rows as the .xlsx
they came from, loaded and kept as received, marked as an .xlsx copy; hostile ones refused."""

from __future__ import annotations

import io
import subprocess
import zipfile

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines import check, ingest
from pipelines.intake import ods, read
from pipelines.marts import kpis
from tests.conftest import SOFFICE, need
from tests.test_approvals import later
from tests.workbooks import copied, edited

GOOD = ("BG_2022-Q3", "GR_2022-Q4", "IT_2021-Q4", "IT_2021-Q4_Regione_Campania")


@pytest.fixture(scope="module")
def saved(demo_dir, reg, tmp_path_factory):
    """Demo workbooks and a bad one (an activity's women and men do not add up), each as the
    .xlsx and as the .ods LibreOffice saves from it (soffice --convert-to ods)."""
    soffice = need(SOFFICE, "LibreOffice")
    tmp = tmp_path_factory.mktemp("ods")
    sources = [copied(demo_dir / f"{name}.xlsx", tmp / "in" / f"{name}.xlsx") for name in GOOD]
    sources.append(edited(demo_dir / "RO_2022-Q4.xlsx", tmp / "in" / "RO_2022-Q4.xlsx",
                          {(reg.sheet("activities").label("ro"), "H3"): 999}))
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp / 'profile'}", "--headless", "--convert-to", "ods",
         "--outdir", str(tmp / "ods"), *map(str, sources)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return {p.stem: (p, tmp / "ods" / f"{p.stem}.ods") for p in sources}


def findings(book) -> list[tuple]:
    return sorted((f.rule, f.severity, f.sheet, f.cell) for f in book.findings)


@pytest.mark.parametrize("name", [*GOOD, "RO_2022-Q4"])
def test_an_ods_reads_as_the_xlsx_it_came_from(saved, reg, name):
    xlsx, saved_ods = saved[name]
    assert ods.is_ods(saved_ods.read_bytes()) and not ods.is_ods(xlsx.read_bytes())
    mine, theirs = read.read(saved_ods, reg), read.read(xlsx, reg)
    assert findings(mine) == findings(theirs)
    assert mine.stamp == theirs.stamp and mine.sha256 != theirs.sha256
    assert list(mine.sheets) == list(theirs.sheets) and mine.sheets
    for sheet_id, data in theirs.sheets.items():
        pd.testing.assert_frame_equal(mine.sheets[sheet_id].frame, data.frame)
        assert (mine.sheets[sheet_id].name, mine.sheets[sheet_id].cells) == (data.name, data.cells)


def test_the_bad_ods_gets_the_findings_of_its_xlsx(saved, reg, tmp_path):
    xlsx, saved_ods = saved["RO_2022-Q4"]
    mine = check.check(saved_ods, reg, annotated=tmp_path / "ods.checked.xlsx")
    theirs = check.check(xlsx, reg, annotated=tmp_path / "xlsx.checked.xlsx")
    assert findings(mine) == findings(theirs)
    errors = [f for f in mine.findings if f.severity == "error"]
    assert errors and {f.sheet for f in errors} == {reg.sheet("activities").label("ro")}
    assert {f.cell for f in errors} == {"G3"}  # the total beside the women changed in H3
    marked = load_workbook(mine.annotated)  # the marked copy of an .ods is an .xlsx
    assert marked.sheetnames[1:] == load_workbook(theirs.annotated).sheetnames[1:]


def test_an_ods_is_loaded_kept_as_received_and_counts_as_its_xlsx(saved, reg, tmp_path):
    as_ods, as_xlsx = tmp_path / "ods" / "mvh.duckdb", tmp_path / "xlsx" / "mvh.duckdb"
    outcomes = ingest.ingest(later(*(saved[n][1] for n in GOOD)), reg, as_ods)  # in this order
    assert [(o.status, o.findings) for o in outcomes] == [("accepted", [])] * len(GOOD)
    ingest.ingest(later(*(saved[n][0] for n in GOOD)), reg, as_xlsx)
    with duckdb.connect(str(as_ods), read_only=True) as con:
        stored = con.execute("SELECT file_name, stored_path FROM submissions ORDER BY 1").fetchall()
        by_ods = kpis.compute(con, reg, "2022-Q4")
    with duckdb.connect(str(as_xlsx), read_only=True) as con:
        by_xlsx = kpis.compute(con, reg, "2022-Q4")
    assert [name for name, _ in stored] == sorted(f"{n}.ods" for n in GOOD)
    for name, path in stored:
        kept = as_ods.parent / path if not path.startswith("/") else path
        assert open(kept, "rb").read() == saved[name.removesuffix(".ods")][1].read_bytes()
    pd.testing.assert_frame_equal(by_ods, by_xlsx)
    assert by_ods["value"].sum() > 0


def with_entry(data: bytes, name: str, body: bytes, replace: bool = False) -> bytes:
    """The .ods with an entry added (or one replaced), its mimetype kept first and stored."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            if not (replace and entry.filename == name):
                target.writestr(entry, source.read(entry))
        target.writestr(name, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_hostile_ods_files_are_refused(saved, reg, tmp_path):
    good = saved["BG_2022-Q3"][1].read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        content = archive.read("content.xml")
    cases = {
        "macros": with_entry(good, "Basic/Standard/Module1.xml", b"<module/>"),
        "damaged": with_entry(good, "content.xml",
                              b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + content, True),
        "zip_bomb": with_entry(good, "Thumbnails/big.png", b"\0" * 200_000_000),
    }
    for rule, data in cases.items():
        path = tmp_path / f"{rule}.ods"
        path.write_bytes(data)
        assert ods.is_ods(data)
        assert [f.rule for f in read.read(path, reg).findings] == [rule], rule

"""The EU export pack: its figures are `mvh kpis`, a snapshot regenerates it, partner text is inert."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from openpyxl.chart import LineChart

from pipelines import ingest
from pipelines.marts import kpis
from tests.conftest import SOFFICE, mvh, need
from tests.workbooks import edited

PERIOD = "2022-Q1..2022-Q4"
INJECTION = '=HYPERLINK("http://x","y")'
AT_SIGN = "@SUM(1+1)*cmd|' /C calc'!A0"
GREEK = "Εκστρατεία ενημέρωσης στη Νεάπολη-Συκιές"
CYRILLIC = "Съвет на мигрантите в Стара Загора"
COMMENT = "Status went back: Ms Jane Example left the council"
BOM = b"\xef\xbb\xbf"
REGISTERS = ("AT", "GR", "RO")  # the demo countries that keep participant registers


def sheet(path: Path, name: str) -> list[dict]:
    """The rows of a sheet of the exported workbook, as {header: value}."""
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's values, without the README's "Generated at" row (the only one that moves)."""
    wb = load_workbook(path, read_only=True)
    return {
        ws.title: [row for row in ws.iter_rows(values_only=True) if row[0] != "Generated at"]
        for ws in wb.worksheets
    }


def csv_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def texts(xlsx: Path, archive: Path | None = None) -> list[str]:
    """Every text of the workbook and of the CSV files."""
    found = [str(c) for rows in contents(xlsx).values() for row in rows for c in row if c]
    if archive:
        found += [c for data in csv_files(archive).values() for c in csv_cells(data)]
    return found


def export(database: Path, out: Path, *args: str) -> str:
    """Run `mvh export` and return the snapshot id it reports."""
    printed = mvh("export", *args, "-o", str(out), db=database).stdout
    return re.search(r"snapshot (\w+)", printed).group(1)


def with_texts(source: Path, target: Path, texts: dict[tuple[str, str], str]) -> Path:
    """A workbook with partner texts typed into cells; `=...` stays text, as a partner typed it."""
    wb = load_workbook(source)
    for (name, cell), text in texts.items():
        wb[name][cell].value = text
        wb[name][cell].data_type = "s"
    wb.save(target)
    return target


@pytest.fixture(scope="module")
def export_db(tmp_path_factory, demo_db) -> Path:
    """A copy of the demo database: exports store their snapshots beside it, not beside demo_db."""
    path = tmp_path_factory.mktemp("export") / "processed" / "mvh.duckdb"
    path.parent.mkdir()
    shutil.copyfile(demo_db, path)
    return path


@pytest.fixture(scope="module")
def pack(export_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "pack.xlsx"
    export(export_db, out, "--period", PERIOD)
    return out


@pytest.fixture(scope="module")
def partner_texts(reg, demo_dir, tmp_path_factory) -> tuple[Path, Path, Path]:
    """Three 2022-Q4 workbooks with a formula-like, a Greek and a Cyrillic text, ingested into a
    fresh database and exported as .xlsx and as CSV."""
    tmp = tmp_path_factory.mktemp("texts")
    councils, outreach = reg.sheet("councils"), reg.sheet("outreach")
    comment = f"{chr(ord('A') + [f.id for f in councils.fields].index('comment'))}3"
    books = [
        with_texts(demo_dir / "FR_2022-Q4.xlsx", tmp / "FR_2022-Q4.xlsx", {
            (councils.label("fr"), "B3"): INJECTION, (outreach.label("fr"), "C3"): AT_SIGN,
            (councils.label("fr"), comment): COMMENT}),
        with_texts(demo_dir / "GR_2022-Q4.xlsx", tmp / "GR_2022-Q4.xlsx",
                   {(outreach.label("el"), "C3"): GREEK}),
        with_texts(demo_dir / "BG_2022-Q4.xlsx", tmp / "BG_2022-Q4.xlsx",
                   {(councils.label("bg"), "B3"): CYRILLIC}),
    ]
    database = tmp / "processed" / "mvh.duckdb"
    assert [o.status for o in ingest.ingest(books, reg, database)] == ["accepted"] * 3
    export(database, tmp / "pack.xlsx", "--period", "2022-Q4")
    export(database, tmp / "pack.zip", "--period", "2022-Q4", "--format", "csv")
    return database, tmp / "pack.xlsx", tmp / "pack.zip"


def test_kpi_summary_equals_mvh_kpis(pack, export_db, reg):
    report = json.loads(mvh("kpis", "--json", "--as-of", "2022-Q4", db=export_db).stdout)
    rows = {row["KPI id"]: row for row in sheet(pack, "KPI summary")}
    for k in report["kpis"]:
        row = rows[k["id"]]
        if k["country"] is None:
            assert row["Cumulative to 2022-Q4"] == k["value"]
            assert (row["Target"], row["% of target"]) == (k["target"], k["percent"])
            assert row["Planned at 2022-Q4"] == k["planned"]
            assert row["Status"].endswith(reg.status_rule.statuses[k["status"]].label)
        elif k["id"] == "unique_participants" and k["country"] not in REGISTERS:
            assert (row[k["country"]], k["value"]) == ("not collected", 0)  # no register: not 0 people
        else:
            assert row[k["country"]] == k["value"], (k["id"], k["country"])
    assert len(report["kpis"]) == len(reg.kpis) * 8 == 6 * 8
    assert rows["migrants_reached"]["Cumulative to 2022-Q4"] == 563_400
    assert [rows["migrants_reached"][c] for c in ("FR", "HU")] == [208_863, 7_861]


def test_countries_without_registers_have_unique_participants_not_collected(pack):
    rows = {row["Country"]: row for row in sheet(pack, "Unique participants")}
    period = "Unique participants 2022-Q1..2022-Q4 (each person once)"
    assert {c: rows[c][period] for c in ("AT", "BG", "FR", "GR", "HU", "IT", "RO", "Total")} == {
        "AT": 186, "BG": "not collected", "FR": "not collected", "GR": 174, "HU": "not collected",
        "IT": "not collected", "RO": 262, "Total": 622}
    assert rows["BG"]["Participations 2022-Q1..2022-Q4 (a person once per activity)"] == "not collected"


def test_a_flow_sums_the_period_and_a_stock_is_taken_at_its_end(export_db, reg, tmp_path):
    out = tmp_path / "h2.xlsx"
    export(export_db, out, "--period", "2022-Q3..2022-Q4", "--as-of", "2023-Q4")
    rows = {row["KPI id"]: row for row in sheet(out, "KPI summary")}
    with duckdb.connect(str(export_db), read_only=True) as con:
        value = {q: kpis.compute(con, reg, q).query("country.isna()").set_index("id")["value"]
                 for q in ("2022-Q2", "2022-Q4", "2023-Q4")}
    reach = rows["migrants_reached"]
    assert reach["Value 2022-Q3..2022-Q4"] == value["2022-Q4"]["migrants_reached"] - value[
        "2022-Q2"]["migrants_reached"] == 463_299
    assert reach["Cumulative to 2023-Q4"] == 1_046_634
    councils = rows["councils_established"]
    assert (councils["Value 2022-Q3..2022-Q4"], councils["Cumulative to 2023-Q4"]) == (3, 5)


def test_a_snapshot_regenerates_the_same_pack_after_a_correction(reg, demo_dir, db_path, tmp_path):
    files = sorted(p for p in demo_dir.glob("*.xlsx") if p.stem.split("_")[1] <= "2022-Q4")
    ingest.ingest(files, reg, db_path)
    first = tmp_path / "first.xlsx"
    sid = export(db_path, first, "--period", PERIOD)
    stored = {p.name for p in (db_path.parent / "snapshots" / sid).iterdir()}
    assert {"manifest.json", "registry.json", "submissions.parquet", "outreach.parquet"} <= stored

    original = demo_dir / "GR_2022-Q3.xlsx"
    corrected = edited(original, tmp_path / "GR_2022-Q3 corrected.xlsx",
                       {(reg.sheet("outreach").label("el"), "D4"): 1})
    os.utime(corrected, (original.stat().st_mtime + 60,) * 2)
    assert [o.version for o in ingest.ingest([corrected], reg, db_path)] == [2]

    again, fresh = tmp_path / "again.xlsx", tmp_path / "fresh.xlsx"
    assert export(db_path, again, "--snapshot", sid) == sid
    new_sid = export(db_path, fresh, "--period", PERIOD)
    assert contents(again) == contents(first)
    assert new_sid != sid
    before, after = sheet(first, "KPI summary"), sheet(fresh, "KPI summary")
    assert [r["GR"] for r in before] != [r["GR"] for r in after]
    versions = [(r["Quarter"], r["Version"], r["Status"])
                for r in sheet(fresh, "Submissions & data quality") if r["Country"] == "GR"]
    assert ("2022-Q3", 1, "superseded") in versions and ("2022-Q3", 2, "current") in versions
    listed = mvh("snapshots", db=db_path).stdout
    assert sid in listed and new_sid in listed and "2 snapshot(s)" in listed


def test_formula_like_partner_text_stays_text_in_the_workbook(partner_texts):
    _, xlsx, _ = partner_texts
    wb = load_workbook(xlsx)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    injected = [c for c in cells if c.value in (INJECTION, AT_SIGN)]
    assert {c.parent.title for c in injected} == {"Councils", "Outreach"}
    assert {c.data_type for c in injected} == {"s"}
    assert [c.coordinate for c in cells if c.data_type == "f"] == []


def test_formula_like_partner_text_gets_an_apostrophe_in_csv(partner_texts):
    _, _, archive = partner_texts
    files = csv_files(archive)
    cells = [cell for data in files.values() for cell in csv_cells(data)]
    assert f"'{INJECTION}" in csv_cells(files["04_councils.csv"])
    assert f"'{AT_SIGN}" in csv_cells(files["07_outreach.csv"])
    assert [c for c in cells if c.startswith(("=", "+", "-", "@"))] == []


def test_csv_files_have_a_bom_and_keep_greek_and_cyrillic(partner_texts):
    _, xlsx, archive = partner_texts
    files = csv_files(archive)
    assert len(files) == len(load_workbook(xlsx, read_only=True).sheetnames) == 12
    assert all(data.startswith(BOM) for data in files.values())
    assert GREEK in csv_cells(files["07_outreach.csv"])
    assert CYRILLIC in csv_cells(files["04_councils.csv"])
    assert CYRILLIC in [r["Council name"] for r in sheet(xlsx, "Councils")]


def test_partners_comments_stay_out_of_the_pack(partner_texts):
    database, xlsx, archive = partner_texts
    with duckdb.connect(str(database), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM councils WHERE comment = ?", [COMMENT])
        assert stored.fetchone() == (1,)
    assert [t for t in texts(xlsx, archive) if "Jane Example" in t] == []


def test_no_cell_carries_who_reported_or_their_email(partner_texts, pack, export_db):
    for database, xlsx, archive in [partner_texts, (export_db, pack, None)]:
        with duckdb.connect(str(database), read_only=True) as con:
            contacts = {v for row in con.execute("SELECT reported_by, email FROM cover").fetchall()
                        for v in row if v}
        assert len(contacts) >= 2 and any("@" in c for c in contacts)
        assert [t for t in texts(xlsx, archive) if any(c in t for c in contacts)] == []
    snapshot = next((export_db.parent / "snapshots").glob("*/cover.parquet"))
    with duckdb.connect() as con:
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{snapshot}'").fetchall()]
    assert columns == ["submission_id", "country", "quarter", "partner"]


def test_small_person_counts_are_suppressed_and_totals_kept(export_db, reg, tmp_path):
    out = tmp_path / "q4.xlsx"
    export(export_db, out, "--period", "2022-Q4")
    activities = reg.sheet("activities")
    parts = [f.id for f in activities.fields if f.id in {p for r in reg.sums for p in r.parts}]
    with duckdb.connect(str(export_db), read_only=True) as con:
        sums = {row[0]: row[1:] for row in con.execute(
            f"SELECT country, {', '.join(f'sum({p})' for p in parts)} FROM activities "
            "WHERE quarter = '2022-Q4' GROUP BY country").fetchall()}
    rows = sheet(out, "Participants")
    suppressed = 0
    for row in rows[:-1]:
        for part, value in zip(parts, sums[row["Country"]], strict=True):
            shown = row[activities.field(part).label("en")]
            assert shown == ("<5" if 1 <= value <= 4 else value), (row["Country"], part)
            suppressed += shown == "<5"
    total = rows[-1]
    assert total["Country"] == "Total"
    assert [total[activities.field(p).label("en")] for p in parts] == [
        sum(s[i] for s in sums.values()) for i in range(len(parts))]
    assert suppressed >= 5
    amif = [v for row in sheet(out, "AMIF indicators") for k, v in row.items()
            if k in {activities.field(p).label("en") for p in parts} and v is not None]
    assert amif and all(v == "<5" or v == 0 or v >= 5 for v in amif)
    readme = {row["Item"]: row["Value"] for row in sheet(out, "README")}
    assert 'shown as "<5"' in readme["Small cells"]


def test_frozen_headers_number_formats_and_bold_totals(pack):
    wb = load_workbook(pack)
    assert {ws.freeze_panes[-1] for ws in wb.worksheets} == {"2"}
    summary = wb["KPI summary"]
    assert (summary["E2"].number_format, summary["I2"].number_format) == ("#,##0", "0.0")
    outreach = wb["Outreach"]
    total = outreach[outreach.max_row]
    assert total[0].value == "Total" and total[0].font.b
    reached = [c.value for c in outreach[1]].index("Migrants reached")
    assert outreach[1][2].value == "Organisation"
    assert total[reached].value == sum(r[reached].value for r in outreach.iter_rows(2, outreach.max_row - 1))


def test_a_native_line_chart_per_target_kpi(pack, reg):
    charts = load_workbook(pack)["KPI summary"]._charts
    targets = [k for k in reg.kpis if k.target is not None]
    assert len(charts) == len(targets) == 4
    assert all(isinstance(c, LineChart) and len(c.series) == 2 for c in charts)
    progress = sheet(pack, "KPI progress")
    assert [r["Quarter"] for r in progress] == reg.quarters
    reached = {r["Quarter"]: r["Migrants reached"] for r in progress}
    assert (reached["2022-Q4"], reached["2023-Q1"]) == (563_400, None)


def test_readme_names_the_snapshot_and_every_source_file(pack, export_db):
    readme = {row["Item"]: row["Value"] for row in sheet(pack, "README")}
    with duckdb.connect(str(export_db), read_only=True) as con:
        current = con.execute("SELECT country, quarter, reporter, version, submission_id "
                              "FROM current_submissions WHERE quarter <= '2022-Q4'").fetchall()
    assert len(current) == 39  # seven countries, five quarters, Hungary's 2022-Q3 missing; Italy's two
    for country, quarter, reporter, version, sha in current:
        assert sha in readme[" ".join(filter(None, (country, quarter, reporter, f"v{version}")))]
    assert readme["Reporting period"].startswith(PERIOD)
    assert readme["Regenerate"].startswith(f"mvh export --snapshot {readme['Snapshot id']}")
    quality = sheet(pack, "Submissions & data quality")
    assert [(r["Country"], r["Quarter"]) for r in quality if r["Status"] == "missing"] == [
        ("HU", "2022-Q3")]


def test_libreoffice_opens_the_workbook(pack, tmp_path):
    soffice = need(SOFFICE, "LibreOffice")
    result = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(pack)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pack.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "2025-Q1..2025-Q4"], "outside the project period"),
    (["--period", "2022-Q4..2022-Q1"], "ends before it starts"),
    (["--period", "2022"], "write it as 2022-Q1..2022-Q4"),
    (["--period", PERIOD, "--as-of", "2022-Q2"], "before the end of the period"),
    (["--snapshot", "0123456789ab"], "mvh snapshots"),
    (["--snapshot", "../../etc"], "not a snapshot id"),
    ([], "give --period"),
])
def test_export_refuses_with_a_hint(export_db, tmp_path, args, message):
    result = mvh("export", *args, "-o", str(tmp_path / "x.xlsx"), db=export_db, check=False)
    assert result.returncode == 2
    assert message in " ".join(result.stdout.split())
    assert not (tmp_path / "x.xlsx").exists()

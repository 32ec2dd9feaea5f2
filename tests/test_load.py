"""Loading: one transaction per file, identical bytes unchanged, corrections supersede."""

from __future__ import annotations

import os

import duckdb
import pytest

from pipelines import ingest
from pipelines.marts import kpis
from tests.workbooks import copied, edited

TABLES = ["submissions", "cover", "councils", "authorities", "activities", "outreach", "source_cells"]


def counts(db_path) -> dict[str, int]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_reingesting_identical_bytes_changes_nothing(reg, demo_dir, db_path, tmp_path):
    files = [demo_dir / "BG_2022-Q3.xlsx", demo_dir / "BG_2022-Q4.xlsx"]
    first = ingest.ingest(files, reg, db_path)
    before = counts(db_path)
    renamed = copied(files[0], tmp_path / "same bytes, other name.xlsx")
    again = ingest.ingest([*files, renamed], reg, db_path)
    assert [o.status for o in first] == ["accepted", "accepted"]
    assert [o.status for o in again] == ["unchanged"] * 3
    assert counts(db_path) == before
    assert before["submissions"] == 2 and before["activities"] > 0


def test_a_correction_supersedes_and_the_old_version_stays(reg, demo_dir, db_path, tmp_path):
    original = demo_dir / "GR_2023-Q2.xlsx"
    sheet = reg.sheet("outreach").label("el")
    corrected = edited(original, tmp_path / "GR_2023-Q2 corrected.xlsx", {(sheet, "D4"): 1})
    os.utime(corrected, (original.stat().st_mtime + 60,) * 2)
    [first] = ingest.ingest([original], reg, db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        reach_v1 = kpis.compute(con, reg, "2023-Q2").query("id == 'migrants_reached' and country == 'GR'")
        old_figure = con.execute("SELECT migrants_reached FROM outreach WHERE source_row = 4").fetchone()[0]
    [second] = ingest.ingest([corrected], reg, db_path)
    assert (first.version, second.version) == (1, 2)
    with duckdb.connect(str(db_path), read_only=True) as con:
        versions = con.execute("SELECT version, submission_id FROM submissions ORDER BY version").fetchall()
        current = con.execute("SELECT version FROM current_submissions").fetchall()
        reach_v2 = kpis.compute(con, reg, "2023-Q2").query("id == 'migrants_reached' and country == 'GR'")
    assert [v for v, _ in versions] == [1, 2] and current == [(2,)]
    assert {sha for _, sha in versions} == {first.sha256, second.sha256}
    assert reach_v1["value"].item() - reach_v2["value"].item() == old_figure - 1


def test_a_rejected_file_leaves_the_database_unchanged_and_is_kept(reg, demo_dir, db_path, tmp_path):
    ingest.ingest([demo_dir / "FR_2022-Q1.xlsx"], reg, db_path)
    before = counts(db_path)
    sheet = reg.sheet("activities").label("fr")
    bad = edited(demo_dir / "FR_2022-Q2.xlsx", tmp_path / "FR_2022-Q2.xlsx", {(sheet, "G3"): -5})
    [outcome] = ingest.ingest([bad], reg, db_path)
    assert outcome.status == "rejected"
    assert any(f.rule == "min" and f.cell == "G3" for f in outcome.findings)
    assert counts(db_path) == before
    kept = db_path.parent / "quarantine" / f"{outcome.sha256}.xlsx"
    assert kept.read_bytes() == bad.read_bytes()
    assert '"cell": "G3"' in (db_path.parent / "quarantine" / f"{outcome.sha256}.json").read_text()


def test_accepted_bytes_are_stored_by_hash_with_their_source_cells(reg, demo_dir, db_path):
    [outcome] = ingest.ingest([demo_dir / "IT_2023-Q1.xlsx"], reg, db_path)
    stored = db_path.parent / "files" / f"{outcome.sha256}.xlsx"
    assert stored.read_bytes() == (demo_dir / "IT_2023-Q1.xlsx").read_bytes()
    with duckdb.connect(str(db_path), read_only=True) as con:
        cell = con.execute(
            "SELECT c.sheet_name, c.location || o.source_row FROM outreach o JOIN source_cells c "
            "ON c.submission_id = o.submission_id AND c.sheet_id = 'outreach' "
            "AND c.field = 'migrants_reached' ORDER BY o.source_row LIMIT 1").fetchone()
        quarter_cell = con.execute("SELECT location FROM source_cells WHERE field = 'quarter'").fetchone()
    assert cell == (reg.sheet("outreach").label("it"), "D3")
    assert quarter_cell == ("B4",)


def test_a_crash_inside_the_transaction_leaves_nothing(reg, demo_dir, db_path, monkeypatch):
    """A failure half-way through loading a file rolls the whole file back."""
    from pipelines.store import db

    ingest.ingest([demo_dir / "HU_2022-Q1.xlsx"], reg, db_path)
    before = counts(db_path)
    real = db.insert_frame

    def fail_on_the_last_sheet(con, table, frame):
        if table == reg.template.sheets[-1].id:
            raise RuntimeError("disk full")
        real(con, table, frame)

    monkeypatch.setattr(db, "insert_frame", fail_on_the_last_sheet)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest.ingest([demo_dir / "HU_2022-Q2.xlsx"], reg, db_path)
    assert counts(db_path) == before

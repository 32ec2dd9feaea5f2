"""Is the database whole? Each submission fully in or fully out, its stored bytes kept.

Checked (`mvh integrity`, and after every kill in the crash test):
- no row of any table names a submission that is not in `submissions` (a half-loaded file);
- every submission has its cover row, and its versions per country and quarter run 1, 2, … n;
- the stored file of every submission exists and its sha256 is the submission's id (or it is
  the copy of a workbook whose register sheet was emptied, pipelines/store/redact.py);
- with `deep`, every table sheet holds exactly the rows that reading the stored file gives.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.declaration.registry import Registry
from pipelines.intake import read


def problems(con: duckdb.DuckDBPyConnection, registry: Registry, deep: bool = False) -> list[str]:
    """Everything wrong with the database, in words; an empty list when it is whole."""
    found: list[str] = []
    tables = [t for (t,) in con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'submission_id' "
        "AND table_name <> 'submissions' AND table_name IN (SELECT table_name FROM "
        "information_schema.tables WHERE table_type = 'BASE TABLE') ORDER BY 1").fetchall()]
    for table in tables:
        (orphans,) = con.execute(f"SELECT count(*) FROM {table} WHERE submission_id NOT IN "
                                 "(SELECT submission_id FROM submissions)").fetchone()
        if orphans:
            found.append(f"{table}: {orphans} row(s) of a submission that is not in submissions")
    for sid, in con.execute("SELECT submission_id FROM submissions WHERE submission_id NOT IN "
                            f"(SELECT submission_id FROM {registry.cover.id})").fetchall():
        found.append(f"submission {sid[:12]}: no cover row")
    for country, quarter, reporter, versions in con.execute(
            "SELECT country, quarter, reporter, list(version ORDER BY version) FROM submissions "
            "GROUP BY ALL").fetchall():
        if versions != list(range(1, len(versions) + 1)):
            key = " ".join(filter(None, (country, quarter, reporter)))
            found.append(f"{key}: versions {versions}, expected 1..{len(versions)}")
    # a workbook that carried a register sheet is kept with it emptied (pipelines/store/redact.py)
    redacted = {sid for (sid,) in con.execute(
        "SELECT submission_id FROM registers WHERE kind = 'sheet'").fetchall()} \
        if registry.participant_register else set()
    for sid, stored in con.execute("SELECT submission_id, stored_path FROM submissions").fetchall():
        path = Path(stored)
        if not path.exists():
            found.append(f"submission {sid[:12]}: its stored file {path} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sid and sid not in redacted:
            found.append(f"submission {sid[:12]}: its stored file {path} has other bytes")
        elif deep:
            found += _rows_match(con, registry, sid, path)
    return found


def _rows_match(con, registry: Registry, sid: str, path: Path) -> list[str]:
    book = read.read(path, registry)
    wrong = []
    for sheet in registry.template.sheets:
        (loaded,) = con.execute(f"SELECT count(*) FROM {sheet.id} WHERE submission_id = ?", [sid]).fetchone()
        expected = len(book.sheets[sheet.id].frame) if sheet.id in book.sheets else 0
        if loaded != expected:
            wrong.append(f"submission {sid[:12]}: {sheet.id} has {loaded} row(s), its file {expected}")
    return wrong

"""Load a validated workbook into DuckDB: one transaction per file, versions kept.

Tables and their grain:
- submissions: one row per accepted file (its sha256). A submission's key is its country,
  quarter and `reporter`: the partner organisation where the country reports per organisation
  (indicators.yaml `reporting: per_partner`), '' where it sends one consolidated workbook.
  `version` counts the files accepted for the same key, in order of arrival; `organisation` is
  the partner the cover names, whatever the key. The view current_submissions keeps the latest
  version of each key; earlier versions stay on record, superseded. A correction from one
  organisation supersedes only that organisation's earlier version.
- one table per template table sheet (councils, authorities, activities, outreach): one row per
  record per submission, with `source_row`, the Excel row it came from.
- cover: one row per submission, the cover's fields.
- source_cells: per submission, sheet and field, the column (tables) or cell (forms) it was
  read from, so any value leads back to its cell: column || source_row.
- findings: warnings stored with the accepted submission they concern.
- registers, participations: a register sheet of the workbook, pseudonymised
  (pipelines/store/register_load.py).
The table columns follow the template's fields in indicators.yaml.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry, Sheet
from pipelines.intake import register
from pipelines.intake.findings import Finding
from pipelines.intake.read import ReadBook
from pipelines.store import db, register_load

SQL_TYPES = {"integer": "BIGINT", "date": "DATE"}

BASE_TABLES = """
CREATE TABLE IF NOT EXISTS submissions (
    submission_id VARCHAR PRIMARY KEY,      -- sha256 of the file's bytes
    country VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    reporter VARCHAR NOT NULL,              -- the organisation in the key, '' if consolidated
    version INTEGER NOT NULL,               -- 1, 2, ... per country, quarter and reporter
    organisation VARCHAR,                   -- the partner organisation the cover names
    file_name VARCHAR NOT NULL,
    stored_path VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    template_version VARCHAR,
    language VARCHAR,
    received_at TIMESTAMP NOT NULL,
    uploaded_by VARCHAR,
    UNIQUE (country, quarter, reporter, version)
);
CREATE TABLE IF NOT EXISTS source_cells (
    submission_id VARCHAR NOT NULL,
    sheet_id VARCHAR NOT NULL,
    sheet_name VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    location VARCHAR NOT NULL,              -- a column letter (tables) or a cell (forms)
    PRIMARY KEY (submission_id, sheet_id, field)
);
CREATE TABLE IF NOT EXISTS findings (
    submission_id VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    sheet VARCHAR, cell VARCHAR, value VARCHAR, rule VARCHAR NOT NULL,
    message VARCHAR NOT NULL,               -- in English; messages.localise renders any language
    fix VARCHAR, sheet_id VARCHAR, field VARCHAR, params JSON
);
"""
# The latest version of each key (country, quarter, reporter): the only one that counts.
CURRENT_VIEW = """
CREATE OR REPLACE VIEW current_submissions AS
    SELECT * FROM submissions
    QUALIFY version = max(version) OVER (PARTITION BY country, quarter, reporter);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Create the tables, adding columns for fields added to indicators.yaml since."""
    db.rekey(con, "submissions", BASE_TABLES.split(";")[0], "current_submissions",
             {"reporter": "''", "organisation": "NULL"})
    con.execute(BASE_TABLES + CURRENT_VIEW)
    register_load.ensure_schema(con, registry)
    for sheet in registry.template.sheets:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {sheet.id} (submission_id VARCHAR NOT NULL, "
            "country VARCHAR NOT NULL, quarter VARCHAR NOT NULL, source_row INTEGER)"
        )
        for f in sheet.fields:
            if f.id not in ("country", "quarter"):
                kind = SQL_TYPES.get(f.type, "VARCHAR")
                con.execute(f"ALTER TABLE {sheet.id} ADD COLUMN IF NOT EXISTS {f.id} {kind}")


def next_version(con: duckdb.DuckDBPyConnection, country: str, quarter: str, reporter: str) -> int:
    row = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM submissions "
        "WHERE country = ? AND quarter = ? AND reporter = ?",
        [country, quarter, reporter],
    ).fetchone()
    return int(row[0])


def load(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    book: ReadBook,
    stored_path: str,
    warnings: list[Finding],
    uploaded_by: str | None = None,
    received_at: dt.datetime | None = None,
) -> int:
    """Insert one accepted workbook in one transaction; return its version number."""
    country, quarter = book.country, book.quarter
    reporter = registry.reporter(country, book.organisation)
    con.execute("BEGIN TRANSACTION")
    try:
        version = next_version(con, country, quarter, reporter)
        con.execute(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                book.sha256,
                country,
                quarter,
                reporter,
                version,
                book.organisation or None,
                book.path.name,
                stored_path,
                book.size,
                book.stamp.get("template_version"),
                book.stamp.get("language"),
                received_at or dt.datetime.now(),
                uploaded_by,
            ],
        )
        for sheet in registry.template.sheets:
            _insert_sheet(con, sheet, book, country, quarter)
        carried = register.from_book(book, registry)
        if carried is not None:  # a register sheet: pseudonymised, in the same transaction
            register_load.insert(con, registry, carried, reporter, uploaded_by)
        if warnings:
            db.insert_frame(
                con,
                "findings",
                pd.DataFrame([{"submission_id": book.sha256, **w.as_dict()} for w in warnings]),
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return version


def _insert_sheet(con, sheet: Sheet, book: ReadBook, country: str, quarter: str) -> None:
    data = book.sheets[sheet.id]
    frame = data.frame.rename(columns={"_row": "source_row"}).copy()
    frame = frame[[c for c in frame.columns if not c.startswith("_")]]
    frame = frame.drop(columns=[c for c in ("country", "quarter") if c in frame])
    frame.insert(0, "submission_id", book.sha256)
    frame.insert(1, "country", country)
    frame.insert(2, "quarter", quarter)
    for f in sheet.fields:
        if f.type == "date" and f.id in frame:
            frame[f.id] = frame[f.id].dt.date
        elif f.type == "integer" and f.id in frame:
            frame[f.id] = frame[f.id].astype("Int64")
    if sheet.layout == "form":
        frame = frame.drop(columns=["source_row"])
    db.insert_frame(con, sheet.id, frame)
    locations = data.cells or data.columns
    cells = pd.DataFrame(
        [
            {
                "submission_id": book.sha256,
                "sheet_id": sheet.id,
                "sheet_name": data.name,
                "field": k,
                "location": v,
            }
            for k, v in locations.items()
        ]
    )
    if len(cells):
        db.insert_frame(con, "source_cells", cells)

"""Provenance: the rows behind a KPI value, each with its organisation, file, version, sheet and cell.

The rows are the KPI's counted rows (pipelines/marts/counted.py), the same the KPI sums, with
where each came from; `counts` is what a row adds to the KPI, so the column adds up to the KPI's
value. A register KPI is listed one row per current register, with what it adds. Pure queries
(a DuckDB connection and the registry in, a frame out), so the dashboard, the export and the
command line list the same rows.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry
from pipelines.marts import counted

COLUMNS = ["kpi", "country", "quarter", "record", "organisation", "file_name", "version", "sheet", "cell",
           "field", "value", "counts", "notes", "uploaded_at", "uploaded_by", "submission_id", "stored_path"]


ORDER = "country, quarter, uploaded_at, source_row"  # rows in the order they were received


def _sourced(rows: str, sheet: str, field: str, registry: Registry) -> str:
    """Rows of a sheet with their file, version and the cell of `field`: its column
    (source_cells.location) and its row (source_row), e.g. D7; and the partner's `notes` on it:
    an entity's explanation of its status, else the notes of its workbook's cover."""
    entity = registry.entity_of(sheet)
    cover_notes = registry.cover_field("notes")
    notes = [f"t.{registry.entities[entity].explanation_field}" if entity else None,
             f"v.{cover_notes}" if cover_notes else None]
    return f"""
        SELECT t.*, coalesce(s.organisation, '') AS organisation, s.file_name, s.version,
               s.received_at AS uploaded_at, s.uploaded_by,
               s.stored_path, c.sheet_name AS sheet, c.location || t.source_row AS cell,
               '{field}' AS field, coalesce({", ".join(filter(None, notes)) or "NULL"}, '') AS notes
        FROM ({rows}) t JOIN submissions s USING (submission_id)
        LEFT JOIN {registry.cover.id} v ON v.submission_id = t.submission_id
        LEFT JOIN source_cells c ON c.submission_id = t.submission_id
             AND c.sheet_id = '{sheet}' AND c.field = '{field}'
    """


def _check(registry: Registry, as_of: str, country: str | None) -> None:
    registry.quarter(as_of, "as-of quarter")
    if country is not None:
        registry.country(country)  # KeyError naming the project's countries


def rows(con: duckdb.DuckDBPyConnection, registry: Registry, kpi_id: str, as_of: str,
         country: str | None = None, current: str = counted.CURRENT) -> pd.DataFrame:
    """The rows behind one KPI value (country None = the whole project), in COLUMNS order."""
    _check(registry, as_of, country)
    kpi = registry.kpi(kpi_id)
    sql, params = counted.rows(registry, kpi, current)
    params = {**params, "as_of": as_of, "country": country}
    if not counted.available(con, kpi):
        frame = pd.DataFrame(columns=COLUMNS[1:])
    elif kpi.source.register_count:
        frame = _registers(con, sql, params)
    else:
        src = kpi.source
        sheet = registry.entities[src.entity].sheet if src.entity else src.sheet
        field = registry.entities[src.entity].status_field if src.entity else src.value
        frame = counted.run(con, f"{_sourced(sql, sheet, field, registry)} ORDER BY {ORDER}", params).df()
        if src.entity:
            frame = frame.sort_values(["country", "record"], ignore_index=True)
    frame.insert(0, "kpi", kpi.id)
    return frame[COLUMNS]


def _registers(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """One row per current register up to the as-of quarter: what it adds to the KPI (for unique
    participants, the people counted for the first time in it). `value` is its number of rows."""
    return counted.run(con, f"""
        WITH added AS (SELECT register_id, sum(counts) AS counts FROM ({sql}) GROUP BY ALL)
        SELECT r.country, r.quarter, r.file_name AS record, r.reporter AS organisation, r.file_name,
               r.version,
               coalesce(r.sheet_name, r.file_name) AS sheet, '' AS cell, 'register' AS field,
               r.rows AS value, coalesce(a.counts, 0) AS counts, '' AS notes, r.received_at AS uploaded_at,
               r.uploaded_by, r.register_id AS submission_id, NULL AS stored_path
        FROM current_registers r LEFT JOIN added a USING (register_id)
        WHERE r.quarter <= $as_of AND ($country IS NULL OR r.country = $country)
        ORDER BY r.country, r.quarter
    """, params).df()


def sheet_rows(con: duckdb.DuckDBPyConnection, registry: Registry, sheet: str, field: str,
               as_of: str, country: str | None = None, current: str = counted.CURRENT) -> pd.DataFrame:
    """Every row of a template table sheet (current versions up to as-of), all its fields, with its
    file and the cell of `field`: for an entity's sheet and status, the entity's history. Its
    `record` is the row's id as first typed (counted.first_typed)."""
    _check(registry, as_of, country)
    key = registry.sheet(sheet).key
    rows = f"SELECT *, {counted.first_typed(key)} AS record FROM ({counted.sheet_rows(sheet, current)})"
    return counted.run(con, f"{_sourced(rows, sheet, field, registry)} ORDER BY {ORDER}",
                       {"as_of": as_of, "country": country}).df()

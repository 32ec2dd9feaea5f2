"""Provenance: the rows behind a KPI value, each with its file, version, sheet and cell.

Pure queries on the monitor's tables (a DuckDB connection and the registry in, a frame out), so
the dashboard, the export and the command line list the same rows. The counting rules are those
of pipelines/marts/kpis.py: only current versions count; a stock's rows are the latest status row of
each entity, up to the as-of quarter, that qualifies (one row per entity, never one per quarter);
a flow's rows are every summed row. `counts` is what a row adds to the KPI, so the column adds up
to the KPI's value.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Kpi, Registry
from pipelines.marts import people

CURRENT = "current_submissions"  # the latest version of each country and quarter
COLUMNS = ["kpi", "country", "quarter", "record", "file_name", "version", "sheet", "cell", "field",
           "value", "counts", "uploaded_at", "uploaded_by", "submission_id", "stored_path"]


def _sourced(sheet: str, field: str, key: str, current: str) -> str:
    """Rows of a sheet from current versions up to the as-of quarter, with the cell of `field`.

    A value's cell is its column (source_cells.location) and its row (source_row), e.g. D7.
    `current` names the relation of submissions that count, as in kpis.compute.
    """
    return f"""
        SELECT t.*, t.{key} AS record, s.file_name, s.version, s.received_at AS uploaded_at,
               s.uploaded_by, s.stored_path, c.sheet_name AS sheet,
               c.location || t.source_row AS cell, '{field}' AS field
        FROM {sheet} t
        JOIN {current} s USING (submission_id)
        LEFT JOIN source_cells c ON c.submission_id = t.submission_id
             AND c.sheet_id = '{sheet}' AND c.field = '{field}'
        WHERE s.quarter <= $as_of AND ($country IS NULL OR t.country = $country)
    """


def _check(registry: Registry, as_of: str, country: str | None) -> None:
    if as_of not in registry.quarters:
        span = f"{registry.quarters[0]} to {registry.quarters[-1]}"
        raise ValueError(f"as-of quarter {as_of} is outside the project period ({span})")
    if country is not None:
        registry.country(country)  # KeyError naming the project's countries


def rows(con: duckdb.DuckDBPyConnection, registry: Registry, kpi_id: str, as_of: str,
         country: str | None = None, current: str = CURRENT) -> pd.DataFrame:
    """The rows behind one KPI value (country None = the whole project), in COLUMNS order."""
    _check(registry, as_of, country)
    kpi = registry.kpi(kpi_id)
    if kpi.source.register_count:
        frame = _registers(con, kpi, as_of, country)
    else:
        sql, params = (_stock if kpi.source.entity else _flow)(registry, kpi, current)
        frame = con.execute(sql, {"as_of": as_of, "country": country, **params}).df()
    frame.insert(0, "kpi", kpi.id)
    return frame[COLUMNS]


def _stock(registry: Registry, kpi: Kpi, current: str) -> tuple[str, dict]:
    """The latest status row of each entity up to the as-of quarter, where it qualifies.

    Stocks are not summed over quarters: a council reported in eight quarters is one row here.
    """
    src = kpi.source
    entity = registry.entities[src.entity]
    params = {"qualifying": list(src.qualifying)}
    conditions = [f"list_contains($qualifying, {entity.status_field})"]
    for i, (column, allowed) in enumerate(src.where.items()):
        params[f"where{i}"] = [allowed] if isinstance(allowed, str) else list(allowed)
        conditions.append(f"list_contains($where{i}, {column})")
    sql = f"""
        WITH latest AS (
            {_sourced(entity.sheet, entity.status_field, entity.key, current)}
            QUALIFY row_number() OVER (PARTITION BY t.country, t.{entity.key}
                                       ORDER BY s.quarter DESC) = 1)
        SELECT *, CAST({entity.status_field} AS VARCHAR) AS value, 1 AS counts FROM latest
        WHERE {" AND ".join(conditions)}
        ORDER BY country, record
    """
    return sql, params


def _flow(registry: Registry, kpi: Kpi, current: str) -> tuple[str, dict]:
    """Every row whose field is summed: current versions, every quarter up to the as-of quarter."""
    src = kpi.source
    sql = f"""
        SELECT *, {src.value} AS value, coalesce({src.value}, 0) AS counts
        FROM ({_sourced(src.sheet, src.value, registry.sheet(src.sheet).key, current)})
        ORDER BY country, quarter, source_row
    """
    return sql, {}


def _registers(con: duckdb.DuckDBPyConnection, kpi: Kpi, as_of: str, country: str | None) -> pd.DataFrame:
    """One row per current register up to the as-of quarter: what it adds to the KPI. For unique
    participants, the people counted for the first time in its quarter (so the column adds up to
    the KPI); for participations, its participations. `value` is the register's number of rows."""
    if not people.has_registers(con):
        return pd.DataFrame(columns=COLUMNS[1:])
    added = ("""SELECT country, first AS quarter, count(*) AS counts FROM (
                    SELECT country, person, min(quarter) AS first FROM p GROUP BY ALL) GROUP BY ALL"""
             if kpi.source.register_count == "unique_participants" else
             f"SELECT country, quarter, {people.MEASURES['participations']} AS counts FROM p GROUP BY ALL")
    return con.execute(f"""
        WITH cur AS (SELECT * FROM current_registers
                     WHERE quarter <= $as_of AND ($country IS NULL OR country = $country)),
        p AS (SELECT * FROM participations WHERE register_id IN (SELECT register_id FROM cur)),
        added AS ({added})
        SELECT r.country, r.quarter, r.file_name AS record, r.file_name, r.version,
               coalesce(r.sheet_name, r.file_name) AS sheet, '' AS cell, 'register' AS field,
               r.rows AS value, coalesce(a.counts, 0) AS counts, r.received_at AS uploaded_at,
               r.uploaded_by, r.register_id AS submission_id, NULL AS stored_path
        FROM cur r LEFT JOIN added a USING (country, quarter) ORDER BY r.country, r.quarter
    """, {"as_of": as_of, "country": country}).df()


def sheet_rows(con: duckdb.DuckDBPyConnection, registry: Registry, sheet: str, field: str,
               as_of: str, country: str | None = None, current: str = CURRENT) -> pd.DataFrame:
    """Every row of a template table sheet (current versions up to as-of), all its fields, with its
    file and the cell of `field`: for an entity's sheet and status, the entity's history."""
    _check(registry, as_of, country)
    sql = (f"SELECT * FROM ({_sourced(sheet, field, registry.sheet(sheet).key, current)}) "
           "ORDER BY country, quarter, source_row")
    return con.execute(sql, {"as_of": as_of, "country": country}).df()

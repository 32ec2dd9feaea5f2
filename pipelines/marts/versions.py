"""The versions of a country's quarter: who sent each, when, which cells changed, what it did to the KPIs."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.marts import kpis


def listed(con: duckdb.DuckDBPyConnection, country: str, quarter: str) -> list[dict]:
    """Every accepted version of a country's quarter, oldest first."""
    return con.execute("""
        SELECT s.version, s.submission_id, s.file_name, s.received_at, s.uploaded_by,
               (SELECT count(*) FROM findings f WHERE f.submission_id = s.submission_id) AS warnings
        FROM submissions s WHERE country = ? AND quarter = ? ORDER BY version
    """, [country, quarter]).df().to_dict("records")


def _records(con, sheet_id: str, sha: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {sheet_id} WHERE submission_id = ?", [sha]).df()


def _locations(con, sha: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = con.execute("SELECT sheet_id, field, sheet_name, location FROM source_cells "
                       "WHERE submission_id = ?", [sha]).fetchall()
    return {(sheet, field): (name, location) for sheet, field, name, location in rows}


def changed_cells(con: duckdb.DuckDBPyConnection, registry: Registry, old: str, new: str) -> list[dict]:
    """The cells whose value differs between two versions, as cells of the newer workbook.

    Table rows are matched by their id (the sheet's key field); a row only in one version is
    reported once, at its id cell.
    """
    where = _locations(con, new)
    where_old = _locations(con, old)
    changes = []
    for sheet in registry.template.sheets:
        key = sheet.key
        before, after = _records(con, sheet.id, old), _records(con, sheet.id, new)
        if sheet.layout == "form":
            before, after, key = before.assign(_k=1), after.assign(_k=1), "_k"
        merged = before.merge(after, on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
        for _, row in merged.iterrows():
            for f in sheet.fields:
                if f.id == key or f.id in ("country", "quarter"):
                    continue
                was, now = row.get(f"{f.id}_old"), row.get(f"{f.id}_new")
                if F.show(was) == F.show(now):
                    continue
                side, source_row = (where, row.get("source_row_new")) if row["_merge"] != "left_only" \
                    else (where_old, row.get("source_row_old"))
                name, location = side.get((sheet.id, f.id), (sheet.label("en"), ""))
                cell = location if sheet.layout == "form" else f"{location}{int(source_row)}"
                changes.append({"sheet": name, "cell": cell, "field": f.id,
                                "id": "" if key == "_k" else row[key],
                                "before": F.show(was), "after": F.show(now)})
    return changes


def kpi_effect(con: duckdb.DuckDBPyConnection, registry: Registry, country: str, quarter: str,
               version: int) -> list[dict]:
    """Each KPI of the country and of the project, as of the quarter, before and after a version."""
    registry.country(country)  # the values go into view definitions: only known ones
    if quarter not in registry.quarters:
        raise ValueError(f"{quarter} is not a quarter of the project")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW known_before AS SELECT * FROM submissions
        WHERE NOT (country = '{country}' AND quarter = '{quarter}' AND version >= {int(version)})
        QUALIFY version = max(version) OVER (PARTITION BY country, quarter)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW known_after AS SELECT * FROM submissions
        WHERE NOT (country = '{country}' AND quarter = '{quarter}' AND version > {int(version)})
        QUALIFY version = max(version) OVER (PARTITION BY country, quarter)""")
    before = kpis.compute(con, registry, quarter, current="known_before")
    after = kpis.compute(con, registry, quarter, current="known_after")
    both = before.merge(after, on=["id", "country"], suffixes=("_before", "_after"), how="outer")
    mine = both[both["country"].isna() | (both["country"] == country)]
    return [{"kpi": r["id"], "country": r["country"] if isinstance(r["country"], str) else None,
             "before": r["value_before"], "after": r["value_after"],
             "change": r["value_after"] - r["value_before"]} for _, r in mine.iterrows()]

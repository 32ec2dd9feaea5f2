"""The versions of a country's quarter: who sent each, when, which cells changed, what it did to the KPIs.

Versions follow a submission's key (country, quarter and, where the country reports per partner
organisation, the organisation): a version is compared with the previous version of its own key,
and its effect on the KPIs is the difference it makes with every other key as it stands.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.intake.history import same_id
from pipelines.marts import kpis

SUBMISSIONS_SQL = "SELECT * FROM submissions WHERE submission_id NOT IN ({}) " \
                  "QUALIFY version = max(version) OVER (PARTITION BY country, quarter, reporter)"


def listed(con: duckdb.DuckDBPyConnection, country: str, quarter: str) -> list[dict]:
    """Every accepted version of a country's quarter, by organisation (reporter), oldest first."""
    return con.execute("""
        SELECT s.reporter, coalesce(s.organisation, '') AS organisation, s.version, s.submission_id,
               s.file_name, s.received_at, s.uploaded_by,
               (SELECT count(*) FROM findings f WHERE f.submission_id = s.submission_id) AS warnings
        FROM submissions s WHERE country = ? AND quarter = ? ORDER BY reporter, version
    """, [country, quarter]).df().to_dict("records")


def report(con: duckdb.DuckDBPyConnection, registry: Registry, country: str, quarter: str) -> list[dict]:
    """Each version of a country's quarter with the cells changed since the previous version of
    its key and its effect on every KPI (`mvh history`)."""
    versions = listed(con, country, quarter)
    previous = [None, *versions]
    return [{**v, "received_at": str(v["received_at"])[:19],
             "changed_cells": changed_cells(con, registry, before["submission_id"], v["submission_id"])
             if before and before["reporter"] == v["reporter"] else [],
             "kpi_effect": kpi_effect(con, registry, country, quarter, v["reporter"], v["version"])}
            for before, v in zip(previous, versions, strict=False)]


def _records(con, sheet_id: str, sha: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {sheet_id} WHERE submission_id = ?", [sha]).df()


def _locations(con, sha: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = con.execute("SELECT sheet_id, field, sheet_name, location FROM source_cells "
                       "WHERE submission_id = ?", [sha]).fetchall()
    return {(sheet, field): (name, location) for sheet, field, name, location in rows}


def changed_cells(con: duckdb.DuckDBPyConnection, registry: Registry, old: str, new: str) -> list[dict]:
    """The cells whose value differs between two versions, as cells of the newer workbook.

    Table rows are matched by their id (the sheet's key field, compared without surrounding
    spaces and letter case: an id retyped in another case is a changed cell).
    """
    where = _locations(con, new)
    where_old = _locations(con, old)
    changes = []
    for sheet in registry.template.sheets:
        before, after = _records(con, sheet.id, old), _records(con, sheet.id, new)
        key = sheet.key
        if sheet.layout == "form":
            before, after, key = before.assign(_k=1), after.assign(_k=1), "_k"
        before[" id"], after[" id"] = before[key].map(same_id), after[key].map(same_id)
        merged = before.merge(after, on=" id", how="outer", suffixes=("_old", "_new"), indicator=True)
        for _, row in merged.iterrows():
            for f in sheet.fields:
                if f.id in ("country", "quarter") or (f.id == key and row["_merge"] != "both"):
                    continue
                was, now = row.get(f"{f.id}_old"), row.get(f"{f.id}_new")
                if F.show(was) == F.show(now):
                    continue
                side, source_row = (where, row.get("source_row_new")) if row["_merge"] != "left_only" \
                    else (where_old, row.get("source_row_old"))
                name, location = side.get((sheet.id, f.id), (sheet.label("en"), ""))
                cell = location if sheet.layout == "form" else f"{location}{int(source_row)}"
                shown = row.get(f"{key}_new") if row["_merge"] != "left_only" else row.get(f"{key}_old")
                changes.append({"sheet": name, "cell": cell, "field": f.id,
                                "id": "" if key == "_k" else shown,
                                "before": F.show(was), "after": F.show(now)})
    return changes


def _view(con: duckdb.DuckDBPyConnection, name: str, country: str, quarter: str, reporter: str,
          versions_from: int) -> None:
    """A temporary view of the current submissions as if the key's versions from `versions_from`
    on had not arrived (sha256 ids are hex: safe to write into the view's definition)."""
    left_out = con.execute("SELECT submission_id FROM submissions WHERE country = ? AND quarter = ? "
                           "AND reporter = ? AND version >= ?",
                           [country, quarter, reporter, versions_from]).fetchall()
    ids = ", ".join(f"'{sha}'" for (sha,) in left_out if sha.isalnum()) or "''"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {SUBMISSIONS_SQL.format(ids)}")


def kpi_effect(con: duckdb.DuckDBPyConnection, registry: Registry, country: str, quarter: str,
               reporter: str, version: int) -> list[dict]:
    """Each KPI of the country and of the project, as of the quarter, before and after a version
    of a key (country, quarter, reporter)."""
    _view(con, "known_before", country, quarter, reporter, version)
    _view(con, "known_after", country, quarter, reporter, version + 1)
    before = kpis.compute(con, registry, quarter, current="known_before")
    after = kpis.compute(con, registry, quarter, current="known_after")
    both = before.merge(after, on=["id", "country"], suffixes=("_before", "_after"), how="outer")
    mine = both[both["country"].isna() | (both["country"] == country)]
    return [{"kpi": r["id"], "country": r["country"] if isinstance(r["country"], str) else None,
             "before": r["value_before"], "after": r["value_after"],
             "change": r["value_after"] - r["value_before"]} for _, r in mine.iterrows()]

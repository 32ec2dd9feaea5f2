"""The KPIs as of a quarter, overall and per country: each the sum of its counted rows
(pipelines/marts/counted.py, where the counting rules are), with its target, plan and status.
KPIs are never added to one another: direct participations and indirect outreach stay apart."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Kpi, Registry
from pipelines.marts import counted

COLUMNS = ["id", "label", "unit", "country", "value", "target", "percent", "planned", "status"]


def _per_country(con: duckdb.DuckDBPyConnection, registry: Registry, kpi: Kpi, as_of: str,
                 current: str) -> dict[str, float]:
    """The KPI's value for each country that has one, as of the quarter: its counted rows summed."""
    if not counted.available(con, kpi):
        return {}
    sql, params = counted.rows(registry, kpi, current)
    found = counted.run(con, f"SELECT country, sum(counts) FROM ({sql}) GROUP BY country",
                        {**params, "as_of": as_of}).fetchall()
    return {country: float(value or 0) for country, value in found}


def status(value: float, target: float | None, planned: float | None, ratio: float) -> str:
    """The rule of status_rule in indicators.yaml; a country with no share of a target has none."""
    if not target:
        return "no_target"
    if value >= target:
        return "achieved"
    if planned is None or value >= planned:
        return "on_track"
    return "at_risk" if value >= ratio * planned else "off_track"


def compute(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: str,
            current: str = "current_submissions") -> pd.DataFrame:
    """One row per KPI and country (country None = the whole project), in declaration order.

    `current` names the relation of submissions that count: by default the latest version of
    each country and quarter; another view gives the KPIs as they were before a correction.
    """
    as_of = registry.quarter(as_of, "as-of quarter")
    ratio = registry.status_rule.at_risk_ratio
    rows = []
    for kpi in registry.kpis:
        values = _per_country(con, registry, kpi, as_of, current)
        for country in [None, *(c.code for c in registry.countries)]:
            value = sum(values.values()) if country is None else values.get(country, 0.0)
            target = registry.target(kpi, country)
            planned = registry.planned(kpi, as_of, country)
            rows.append(
                {
                    "id": kpi.id,
                    "label": kpi.label,
                    "unit": kpi.unit,
                    "country": country,
                    "value": value,
                    "target": target,
                    "percent": round(100 * value / target, 1) if target else None,
                    "planned": planned,
                    "status": status(value, target, planned, ratio),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def series(con: duckdb.DuckDBPyConnection, registry: Registry, up_to: str) -> pd.DataFrame:
    """compute() for every quarter of the project up to `up_to`, with a `quarter` column."""
    frames = [compute(con, registry, q).assign(quarter=q) for q in registry.quarters if q <= up_to]
    return pd.concat(frames, ignore_index=True)


def latest_quarter(con: duckdb.DuckDBPyConnection, registry: Registry) -> str:
    """The last quarter with a submission, or the project's first quarter when there is none."""
    row = con.execute("SELECT max(quarter) FROM current_submissions").fetchone()
    return row[0] if row and row[0] in registry.quarters else registry.quarters[0]


def as_json(frame: pd.DataFrame, as_of: str) -> dict:
    """The shape of `mvh kpis --json`: numbers as numbers, missing as null."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for record in records:
        for key in ("value", "target", "planned"):
            if record[key] is not None and float(record[key]).is_integer():
                record[key] = int(record[key])
    return {"as_of": as_of, "kpis": records}

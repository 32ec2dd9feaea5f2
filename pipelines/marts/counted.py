"""Counted rows: what each KPI counts as of a quarter, each counting rule written once, in SQL.

A KPI's value is the sum of `counts` over its counted rows: `kpis` sums them, `provenance` lists
them with their file and cell, the export and the pages read them. The rules, from the KPI's
declaration in indicators.yaml:
- only the current version of each submission's key counts (country, quarter and, where the
  country reports per partner organisation, the organisation: `current`, by default the view
  current_submissions; another relation gives the figures as they were before a correction);
- a stock (`source.entity`) counts each entity (country and id, the id compared without
  surrounding spaces and letter case, shown as first typed) once, whichever organisation reports
  it, by its row in the latest quarter that reports it up to the as-of quarter (of that quarter's
  reports, the one received last), when that row qualifies: its status is one of `qualifying`
  and every `where` field has one of its values. Stocks are never summed over quarters: a
  council reported in eight quarters is one row here;
- a flow (`source.sheet`, `source.value`) counts every row of its sheet up to the as-of quarter,
  each for its value, summed over the country's organisations;
- unique participants count each person (a keyed hash of country and code) once, in the
  quarter of their first participation in a current register (the table people_first); the
  project's total is the sum of the countries', as the hash includes the country;
- participations count each person once per activity.

Every query takes $as_of, $first (the first quarter counted, '' for the project's start; a stock
is always counted from the start) and $country (NULL for every country).
"""

from __future__ import annotations

import re

import duckdb

from pipelines.declaration.registry import Kpi, Registry
from pipelines.intake.history import SAME_ID_SQL
from pipelines.marts import people

CURRENT = "current_submissions"  # the latest version of each country and quarter
DEFAULTS = {"first": "", "country": None}  # $first and $country when a caller gives none
PARAMETER = re.compile(r"\$(\w+)")


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute a query built here, binding the parameters it uses (DuckDB refuses extra ones),
    $first and $country defaulting to the whole project."""
    given = {**DEFAULTS, **params}
    return con.execute(sql, {name: given[name] for name in set(PARAMETER.findall(sql))})


def sheet_rows(sheet: str, current: str = CURRENT, from_start: bool = False) -> str:
    """Rows of a table sheet in the current version of each quarter from $first (or the
    project's start) to $as_of."""
    since = "" if from_start else "AND s.quarter >= $first"
    return f"""
        SELECT t.*, s.received_at FROM {sheet} t JOIN {current} s USING (submission_id)
        WHERE s.quarter <= $as_of {since} AND ($country IS NULL OR t.country = $country)
    """


def first_typed(key: str) -> str:
    """An id as it was first typed (earliest quarter, then earliest received) among the ones that
    compare equal to it (same country; surrounding spaces and letter case ignored): a window
    expression over sheet_rows."""
    return (f"first_value(trim({key})) OVER (PARTITION BY country, {SAME_ID_SQL.format(key)} "
            "ORDER BY quarter, received_at)")


def latest(registry: Registry, entity: str, current: str = CURRENT) -> str:
    """Each entity of a kind once: its row in the latest quarter that reports it up to $as_of,
    with its id as `record`. The status an entity has is this row's, whatever $first."""
    spec = registry.entities[entity]
    same = f"country, {SAME_ID_SQL.format(spec.key)}"
    return f"""
        SELECT *, {first_typed(spec.key)} AS record FROM ({sheet_rows(spec.sheet, current, from_start=True)})
        QUALIFY row_number() OVER (PARTITION BY {same} ORDER BY quarter DESC, received_at DESC) = 1
    """


def qualifies(registry: Registry, kpi: Kpi) -> tuple[str, dict]:
    """The condition a latest entity row meets to count toward a stock KPI, with its parameters
    (named after the KPI, so that several KPIs' conditions can share one query)."""
    src = kpi.source
    status = registry.entities[src.entity].status_field
    params = {f"{kpi.id}_status": list(src.qualifying)}
    conditions = [f"list_contains(${kpi.id}_status, {status})"]
    for i, (column, allowed) in enumerate(src.where.items()):
        params[f"{kpi.id}_where{i}"] = [allowed] if isinstance(allowed, str) else list(allowed)
        conditions.append(f"list_contains(${kpi.id}_where{i}, {column})")
    return " AND ".join(conditions), params


def rows(registry: Registry, kpi: Kpi, current: str = CURRENT) -> tuple[str, dict]:
    """The KPI's counted rows: country, quarter, record, value, counts, and where they come from
    (submission_id and source_row of a sheet's row, register_id of a register's)."""
    src = kpi.source
    if src.entity:
        condition, params = qualifies(registry, kpi)
        status = registry.entities[src.entity].status_field
        return (f"SELECT *, CAST({status} AS VARCHAR) AS value, 1 AS counts "
                f"FROM ({latest(registry, src.entity, current)}) WHERE {condition}"), params
    if src.sheet:
        key = registry.sheet(src.sheet).key
        return (f"SELECT *, {key} AS record, {src.value} AS value, coalesce({src.value}, 0) AS counts "
                f"FROM ({sheet_rows(src.sheet, current)})"), {}
    return _people(registry, src.register_count), {}


def available(con: duckdb.DuckDBPyConnection, kpi: Kpi) -> bool:
    """Whether the KPI can be counted here: a register KPI needs the register tables, which a
    project without participant registers (or an older database) does not have."""
    return not kpi.source.register_count or people.has_registers(con)


# The registers' rows: people once per country (people_first), participations once per person and
# activity; each tied to the current register of the quarter it is counted in.
_REGISTERS = """
    SELECT register_id, country, quarter FROM current_registers
    WHERE quarter <= $as_of AND quarter >= $first AND ($country IS NULL OR country = $country)
"""


def _people(registry: Registry, kind: str) -> str:
    if kind == "unique_participants":
        return f"""
            SELECT r.country, r.quarter, r.register_id, p.person AS record, 1 AS value, 1 AS counts
            FROM people_first p JOIN ({_REGISTERS}) r
                 ON r.country = p.country AND r.quarter = p.first_quarter
        """
    activity = registry.participant_register.activity
    return f"""
        SELECT * FROM (
            SELECT country, min(quarter) AS quarter, arg_min(register_id, quarter) AS register_id,
                   (person, {SAME_ID_SQL.format(activity)}) AS record, 1 AS value, 1 AS counts
            FROM participations WHERE register_id IN (
                SELECT register_id FROM current_registers
                WHERE quarter <= $as_of AND ($country IS NULL OR country = $country))
            GROUP BY country, person, {SAME_ID_SQL.format(activity)})
        WHERE quarter >= $first
    """

"""Participations and unique participants from the participant registers: pure DuckDB queries.

Counting rules (indicators.yaml, KPI `unique_participants`):
- only the current version of each country's quarter's register counts;
- a participation is a person in an activity: a person listed for two sessions of one activity
  is one participation (as the Activities sheet counts), a person in two activities is two;
- a unique participant is a person counted once: per quarter within the quarter, cumulatively
  over every quarter up to the as-of quarter (a person in two quarters is one person);
- the person is a keyed hash of country and code, so people are unique per country and the
  project's total is the sum of the countries' (two partners' codes never collide);
- by sex x age bracket, a person counts once, with the sex and age bracket of their latest
  participation up to the as-of quarter.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry


def measures(registry: Registry) -> dict[str, str]:
    """How participations (a person once per activity: the register's activity field) and unique
    participants are counted over participation rows."""
    activity = registry.participant_register.activity
    return {"participations": f"count(DISTINCT (person, {activity}))",
            "unique_participants": "count(DISTINCT person)"}


def has_registers(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database (or snapshot) has the register tables; older ones do not."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'participations'")
                .fetchone()[0])


NOT_COLLECTED = "not collected"  # shown for a country without registers, never 0


def collected(con: duckdb.DuckDBPyConnection, as_of: str, first: str | None = None) -> set[str]:
    """The countries with a current register for a quarter from `first` (default: the start) to
    the as-of quarter: elsewhere nobody was counted, which is not zero people."""
    if not has_registers(con):
        return set()
    found = con.execute("SELECT DISTINCT country FROM current_registers WHERE quarter <= ? AND quarter >= ?",
                        [as_of, first or ""]).fetchall()
    return {country for (country,) in found}


def _rows(as_of: str, country: str | None, first: str | None = None) -> tuple[str, dict]:
    """Participations of current registers from `first` (default: the start) to the as-of quarter."""
    sql = """
        SELECT * FROM participations
        WHERE register_id IN (SELECT register_id FROM current_registers
                              WHERE quarter <= $as_of AND quarter >= $first)
          AND ($country IS NULL OR country = $country)
    """
    return sql, {"as_of": as_of, "country": country, "first": first or ""}


def by_quarter(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: str,
               country: str | None = None) -> pd.DataFrame:
    """Per quarter with a register: participations, unique participants in the quarter, people
    counted for the first time, and the cumulative unique participants up to it."""
    if not has_registers(con):
        return pd.DataFrame(columns=["quarter", "participations", "unique_in_quarter", "new",
                                     "unique_cumulative"])
    sql, params = _rows(as_of, country)
    count = measures(registry)
    return con.execute(f"""
        WITH p AS ({sql}),
        firsts AS (SELECT country, person, min(quarter) AS first FROM p GROUP BY ALL),
        per AS (SELECT quarter, {count['participations']} AS participations,
                       {count['unique_participants']} AS unique_in_quarter FROM p GROUP BY quarter),
        new AS (SELECT first AS quarter, count(*) AS new FROM firsts GROUP BY first)
        SELECT per.quarter, per.participations, per.unique_in_quarter, coalesce(new.new, 0) AS new,
               sum(coalesce(new.new, 0)) OVER (ORDER BY per.quarter) AS unique_cumulative
        FROM per LEFT JOIN new USING (quarter) ORDER BY per.quarter
    """, params).df()


def by_country(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: str,
               first: str | None = None) -> pd.DataFrame:
    """Per country (and a last row "Total"): participations and unique participants from `first`
    (default: the start) up to the as-of quarter."""
    frame = pd.DataFrame({"country": [c.code for c in registry.countries]})
    counts = pd.DataFrame(columns=["country", "participations", "unique_participants"])
    if has_registers(con):
        sql, params = _rows(as_of, None, first)
        count = measures(registry)
        counts = con.execute(f"""SELECT country, {count['participations']} AS participations,
            {count['unique_participants']} AS unique_participants FROM ({sql}) GROUP BY country""",
                             params).df()
    frame = frame.merge(counts, on="country", how="left").fillna(0)
    frame[["participations", "unique_participants"]] = frame[["participations",
                                                              "unique_participants"]].astype(int)
    total = {"country": "Total", **frame[["participations", "unique_participants"]].sum().to_dict()}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def breakdowns(registry: Registry) -> tuple[str | None, str | None]:
    """The register's coded fields people are broken down by (the fields reconciled with the
    aggregate sheet's parts, e.g. sex and age bracket): the rows' and the columns' of a grid."""
    register = registry.participant_register
    fields = list(register.reconcile.parts) if register else []
    return (fields + [None, None])[0], (fields + [None, None])[1]


def by_sex_age(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: str,
               country: str | None = None, first: str | None = None) -> pd.DataFrame:
    """Unique participants by the register's two breakdowns (e.g. sex in rows, age bracket in
    columns), each person once with the values of their latest participation; every code of
    both lists is there. One breakdown gives one column, "people"; none, an empty grid."""
    rows, columns = breakdowns(registry)
    if rows is None:
        return pd.DataFrame()
    spec = registry.participant_register.sheet
    codes = {f: list(registry.code_lists[spec.field(f).choices]) for f in (rows, columns) if f}
    grid = pd.DataFrame(0, index=pd.Index(codes[rows], name=rows),
                        columns=codes[columns] if columns else ["people"])
    if not has_registers(con):
        return grid
    sql, params = _rows(as_of, country, first)
    second = columns or "'people'"
    dated = [f.id for f in spec.fields if f.type == "date"][:1]  # the participation's date
    order = ", ".join(["quarter", *dated, "source_row"])
    counted = con.execute(f"""
        WITH latest AS (
            SELECT country, person, arg_max({rows}, ({order})) AS a,
                   arg_max({second}, ({order})) AS b
            FROM ({sql}) GROUP BY country, person)
        SELECT a, b, count(*) AS people FROM latest GROUP BY ALL
    """, params).fetchall()
    for a, b, n in counted:
        if a in grid.index and b in grid.columns:
            grid.loc[a, b] = n
    return grid

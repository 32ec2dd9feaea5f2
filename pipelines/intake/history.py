"""What earlier submissions say, for checks across quarters and organisations: entity statuses,
the ids of flow rows and figures so far.

Read from the current versions in the database; a check with no database has an empty history.
Ids are compared as people type them: `same_id` (surrounding spaces and letter case ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry

ENTITY_COLUMNS = ["entity", "country", "id", "quarter", "status", "reporter", "organisation"]
RECORD_COLUMNS = ["sheet", "country", "id", "quarter", "reporter", "organisation"]
FIGURE_COLUMNS = ["sheet", "field", "country", "by", "quarter", "largest"]
# An id as it is compared, in SQL: the counterpart of same_id
SAME_ID_SQL = "lower(trim(CAST({} AS VARCHAR)))"


def same_id(value: object) -> object:
    """An id as it is compared: without surrounding spaces, in lower case ("C1 " is "c1");
    anything but text (a blank) as it is."""
    return value.strip().lower() if isinstance(value, str) else value


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass
class History:
    # one row per entity and current workbook: its status then, and who reported it
    entities: pd.DataFrame = field(default_factory=lambda: _frame(ENTITY_COLUMNS))
    # one row per row of a flow sheet (activities, outreach) with an id, and who reported it
    records: pd.DataFrame = field(default_factory=lambda: _frame(RECORD_COLUMNS))
    # one row per watched figure, country, `by` value and quarter: the largest figure then
    figures: pd.DataFrame = field(default_factory=lambda: _frame(FIGURE_COLUMNS))

    def known(self, entity: str) -> set[tuple[str, str]]:
        """(country, compared id) of every entity of this kind reported so far."""
        rows = self.entities[self.entities["entity"] == entity]
        return set(zip(rows["country"], rows["id"].map(same_id), strict=True))


def _who(alias: str = "s") -> str:
    return f"{alias}.reporter, coalesce({alias}.organisation, '') AS organisation"


def load(con: duckdb.DuckDBPyConnection, registry: Registry) -> History:
    entity_sql = " UNION ALL ".join(
        f"SELECT '{name}' AS entity, t.country, t.{e.key} AS id, s.quarter, "
        f"t.{e.status_field} AS status, {_who()} "
        f"FROM {e.sheet} t JOIN current_submissions s USING (submission_id)"
        for name, e in registry.entities.items())
    record_sql = " UNION ALL ".join(
        f"SELECT '{sheet}' AS sheet, t.country, t.{registry.sheet(sheet).key} AS id, s.quarter, {_who()} "
        f"FROM {sheet} t JOIN current_submissions s USING (submission_id)"
        for sheet in registry.flow_sheets() if registry.sheet(sheet).key)
    figure_sql = " UNION ALL ".join(
        f"SELECT '{o.sheet}' AS sheet, '{o.field}' AS field, t.country, "
        f"{'CAST(t.' + o.by + ' AS VARCHAR)' if o.by else 'NULL'} AS by, s.quarter, "
        f"max(t.{o.field}) AS largest FROM {o.sheet} t JOIN current_submissions s USING (submission_id) "
        "GROUP BY ALL"
        for o in registry.outliers.fields)
    return History(con.execute(entity_sql).df(),
                   con.execute(record_sql).df() if record_sql else _frame(RECORD_COLUMNS),
                   con.execute(figure_sql).df())

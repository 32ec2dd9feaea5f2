"""What earlier submissions say, for checks across quarters: entity statuses and figures so far.

Read from the current versions in the database; a check with no database has an empty history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry

ENTITY_COLUMNS = ["entity", "country", "id", "quarter", "status"]
FIGURE_COLUMNS = ["sheet", "field", "country", "by", "quarter", "largest"]


@dataclass
class History:
    # one row per entity and quarter: its status then
    entities: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ENTITY_COLUMNS))
    # one row per watched figure, country, `by` value and quarter: the largest figure then
    figures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FIGURE_COLUMNS))

    def known(self, entity: str) -> set[tuple[str, str]]:
        """(country, id) of every entity of this kind reported so far."""
        rows = self.entities[self.entities["entity"] == entity]
        return set(zip(rows["country"], rows["id"], strict=True))


def load(con: duckdb.DuckDBPyConnection, registry: Registry) -> History:
    entity_sql = " UNION ALL ".join(
        f"SELECT '{name}' AS entity, t.country, t.{e.key} AS id, s.quarter, t.{e.status_field} AS status "
        f"FROM {e.sheet} t JOIN current_submissions s USING (submission_id)"
        for name, e in registry.entities.items())
    figure_sql = " UNION ALL ".join(
        f"SELECT '{o.sheet}' AS sheet, '{o.field}' AS field, t.country, "
        f"{'CAST(t.' + o.by + ' AS VARCHAR)' if o.by else 'NULL'} AS by, s.quarter, "
        f"max(t.{o.field}) AS largest FROM {o.sheet} t JOIN current_submissions s USING (submission_id) "
        "GROUP BY ALL"
        for o in registry.outliers.fields)
    return History(con.execute(entity_sql).df(), con.execute(figure_sql).df())

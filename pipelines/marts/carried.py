"""What a quarter's template carries forward: the country's councils and authorities as last reported.

Every quarter a partner reports the same councils and authorities again, with the same ids. A
template for a quarter is filled in advance with each entity of the country (of the partner
organisation, where the country reports per organisation) from the latest accepted report
before that quarter: its id as first typed and every field of its row except the figures of a
quarter (`per_quarter`, e.g. meetings this quarter) and the explanation of a status, which are
the quarter's own. The partner updates the rows rather than typing them again. Flows (activities,
outreach) are never carried: they start empty.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.declaration.registry import Registry
from pipelines.marts import counted


def carried_fields(registry: Registry, entity: str) -> list[str]:
    """The fields of an entity's row that a new quarter's template starts with."""
    spec = registry.entities[entity]
    return [f.id for f in registry.sheet(spec.sheet).fields
            if not f.per_quarter and f.id != spec.explanation_field]


def reporter(registry: Registry, country: str, organisation: str | None = None) -> str:
    """The submission key's reporter of a template for a partner organisation (named in any case;
    by default the first, the cover's default): '' where the country sends one workbook.
    ValueError for an organisation that is not a partner of the country."""
    partners = registry.country(country).partners
    named = [p for p in partners if p.casefold() == (organisation or partners[0]).strip().casefold()]
    if not named:
        raise ValueError(f"{organisation!r} is not a partner of {country}: one of {', '.join(partners)}")
    return registry.reporter(country, named[0])


def entities(con: duckdb.DuckDBPyConnection, registry: Registry, country: str, quarter: str,
             reporter: str = "") -> dict[str, list[dict]]:
    """Sheet id -> the rows a template of `quarter` starts with, from the reports before it."""
    quarter = registry.quarter(quarter)
    position = registry.quarters.index(quarter)
    if position == 0:
        return {}
    rows = {}
    for name, spec in registry.entities.items():
        fields = carried_fields(registry, name)
        latest = counted.run(con, f"""
            SELECT * FROM ({counted.latest(registry, name)}) WHERE submission_id IN (
                SELECT submission_id FROM current_submissions WHERE reporter = $reporter)
            ORDER BY record""", {"as_of": registry.quarters[position - 1], "country": country,
                                 "reporter": reporter}).df()
        latest[spec.key] = latest["record"]
        rows[spec.sheet] = [{k: None if _missing(v) else v for k, v in r.items()}
                            for r in latest[fields].to_dict("records")]
    return rows


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))

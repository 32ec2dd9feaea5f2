"""What the pages read from the database: opened read-only per call and closed at once.

The ingest is the only writer; the dashboard never holds the database open between requests.
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd

from pipelines import db, kpis, registry


@contextmanager
def reading():
    con = db.connect(read_only=True)
    try:
        yield con
    finally:
        con.close()


def latest_quarter() -> str | None:
    """The last quarter with a submission; None when there is no database yet."""
    try:
        with reading() as con:
            return kpis.latest_quarter(con, registry.get())
    except db.NoDatabase:
        return None


def kpi_series(up_to: str) -> pd.DataFrame:
    """Every KPI, overall and per country, for each quarter up to `up_to`."""
    with reading() as con:
        return kpis.series(con, registry.get(), up_to)

"""Figure builders, without a browser."""

from __future__ import annotations

import duckdb

from dashboard import figures
from pipelines import kpis


def test_progress_by_quarter_shows_reported_and_planned(demo_db, reg):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        series = kpis.series(con, reg, "2022-Q4")
    fig = figures.progress_by_quarter(series, reg)
    titles = [a.text for a in fig.layout.annotations if not a.text.startswith("target")]
    assert titles == ["Migrant councils established", "Migrant councils strengthened",
                      "Authorities supporting councils", "Migrants reached"]
    reported = [t for t in fig.data if t.name == "Reported"]
    planned = [t for t in fig.data if t.name == "Planned"]
    assert len(reported) == len(planned) == 4
    assert list(reported[0].x) == ["2021-Q4", "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"]
    assert list(reported[0].y) == [0, 0, 1, 2, 3]
    assert list(planned[3].y)[-1] == 1_000_000

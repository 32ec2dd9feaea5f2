"""Where a KPI is heading: its projection to the project's end, and how far such projections were
off on the project's own quarters (the backtest). Shared by the Trends page, `make bench` and the
tests.

A flow's one-off figures (indicators.yaml `one_off`, e.g. the migrants living in a council's
territory, reported once, in the quarter the council starts) are no pace: continuing them would
count them again every quarter. So a projection splits a KPI's cumulative values into its one-offs
and the recurring rest, continues only the rest, and adds the one-offs reported so far, as they
are. One-offs not yet reported are not foreseen: the backtest shows what that costs.

- A flow (or people counted once) continues its recent quarterly gains along their trend: the
  least-squares line through the gains of the last three quarters, never below zero.
- A stock (entities with a status) continues the average gain of the last three quarters.
- `line`, the method the dashboard used before, continues the least-squares line through the last
  three cumulative values, one-offs and all: the baseline the backtest compares with.

Each method takes cumulative values by quarter from the project's start, the one-offs'
cumulative values beside them, how many quarters ahead and the KPI's measure; it returns the
projected cumulative value of each quarter ahead.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from pipelines.declaration.registry import Kpi, Registry
from pipelines.marts import counted

WINDOW = 3  # quarters whose pace is continued
Method = Callable[[np.ndarray, np.ndarray, int, str], np.ndarray]


def recurring(values: np.ndarray, one_offs: np.ndarray, ahead: int, measure: str) -> np.ndarray:
    """The recurring part continued at its recent pace, plus the one-offs reported so far."""
    rest = values - one_offs
    gains = np.diff(rest[-(WINDOW + 1):])
    if measure == "stock" or len(gains) < 2:
        steps = np.full(ahead, gains.mean())
    else:
        slope, start = np.polyfit(np.arange(len(gains)), gains, 1)
        steps = np.maximum(start + slope * (len(gains) - 1 + np.arange(1, ahead + 1)), 0)
    return rest[-1] + np.cumsum(steps) + one_offs[-1]


def line(values: np.ndarray, one_offs: np.ndarray, ahead: int, measure: str) -> np.ndarray:
    """The least-squares line through the last three cumulative values, one-offs included."""
    recent = values[-WINDOW:]
    slope = np.polyfit(np.arange(len(recent)), recent, 1)[0]
    return np.maximum(recent[-1] + slope * np.arange(1, ahead + 1), 0)


METHODS: dict[str, Method] = {"recurring": recurring, "line": line}


def one_offs(con: duckdb.DuckDBPyConnection, registry: Registry, kpi: Kpi, up_to: str) -> pd.DataFrame:
    """A KPI's one-off figures per country and quarter, up to a quarter (none without `one_off`)."""
    if not kpi.one_off:
        return pd.DataFrame(columns=["country", "quarter", "value"])
    sql, params = counted.rows(registry, kpi)
    picked = {f"one_off_{i}": codes for i, codes in enumerate(kpi.one_off.values())}
    where = " OR ".join(f"list_contains(${name}, {field})"
                        for name, field in zip(picked, kpi.one_off, strict=True))
    return counted.run(con, f"SELECT country, quarter, sum(counts) AS value FROM ({sql}) "
                            f"WHERE {where} GROUP BY ALL ORDER BY ALL",
                       {**params, **picked, "as_of": up_to}).df()


def cumulative(series: pd.DataFrame, offs: pd.DataFrame, registry: Registry, kpi_id: str,
               up_to: str) -> tuple[np.ndarray, np.ndarray]:
    """The whole project's cumulative values of a KPI by quarter from the start to `up_to`
    (kpis.series), and its one-offs' cumulative values (one_offs)."""
    quarters = [q for q in registry.quarters if q <= up_to]
    mine = series[(series["id"] == kpi_id) & series["country"].isna()]
    values = mine.set_index("quarter")["value"].reindex(quarters, fill_value=0)
    added = offs.groupby("quarter")["value"].sum().reindex(quarters, fill_value=0)
    return values.to_numpy(float), added.cumsum().to_numpy(float)


def backtest(values: np.ndarray, offs: np.ndarray, measure: str, method: str = "recurring") -> pd.DataFrame:
    """Projections made from every quarter with at least two values (origin, an index) to every
    later quarter (target), each with the figures known at its origin, against the value reached
    there: origin, target, ahead (quarters), projected, reached, error (projected / reached - 1).
    A target that reached nothing has no relative error and is left out."""
    rows = []
    for origin in range(1, len(values) - 1):
        ahead = len(values) - 1 - origin
        projected = METHODS[method](values[:origin + 1], offs[:origin + 1], ahead, measure)
        for step, value in enumerate(projected, start=1):
            reached = values[origin + step]
            if reached > 0:
                rows.append({"origin": origin, "target": origin + step, "ahead": step,
                             "projected": value, "reached": reached, "error": value / reached - 1})
    return pd.DataFrame(rows, columns=["origin", "target", "ahead", "projected", "reached", "error"])


def to_the_end(tested: pd.DataFrame) -> pd.DataFrame:
    """A backtest's projections of its last quarter: each quarter's projection to the end."""
    return tested[tested["target"] == tested["target"].max()]


def mean_error(tested: pd.DataFrame) -> float:
    """The mean absolute percentage error of a backtest's projections (nan when there are none)."""
    return float(tested["error"].abs().mean() * 100) if len(tested) else float("nan")


def by_horizon(tested: pd.DataFrame) -> pd.DataFrame:
    """How far the backtest's projections were off, by quarters ahead: ahead, projections, the
    mean absolute percentage error and the share that fell short of what was reached."""
    grouped = tested.groupby("ahead")["error"]
    return pd.DataFrame({"projections": grouped.size(),
                         "mean_error": grouped.apply(lambda e: e.abs().mean() * 100),
                         "short": grouped.apply(lambda e: (e < 0).mean() * 100)}).reset_index()


def project(values: np.ndarray, offs: np.ndarray, remaining: list[str], measure: str,
            errors: dict[int, float] | None = None) -> pd.DataFrame:
    """The projection of each remaining quarter (recurring), with a range of the mean percentage
    error the backtest found that many quarters ahead (`errors`, by quarters ahead; no range where
    it found none). Empty when there are fewer than two values or no quarter left."""
    if len(values) < 2 or not remaining:
        return pd.DataFrame(columns=["quarter", "central", "low", "high"])
    central = recurring(values, offs, len(remaining), measure)
    spread = np.array([(errors or {}).get(k, 0.0) / 100 for k in range(1, len(remaining) + 1)])
    return pd.DataFrame({"quarter": remaining, "central": central,
                         "low": np.maximum(central * (1 - spread), 0), "high": central * (1 + spread)})

"""Projections to the project's end (pipelines/marts/projection.py): one-off figures are added as
reported, never continued; the backtest on the demo project, new method against the old one."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboard import tables
from pipelines.marts import kpis, projection


@pytest.fixture(scope="module")
def demo(demo_db, reg):
    """The demo project's migrants reached by quarter, with its one-offs, as of 2023-Q4."""
    kpi = reg.kpi("migrants_reached")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        offs = projection.one_offs(con, reg, kpi, "2023-Q4")
        series = kpis.series(con, reg, "2023-Q4")
    return offs, projection.cumulative(series, offs, reg, kpi.id, "2023-Q4")


def test_one_offs_are_the_territories_reported_once(demo):
    offs, (values, cumulative) = demo
    assert offs.groupby("country")["value"].sum().to_dict() == {
        "AT": 28_350, "BG": 18_900, "FR": 155_925, "GR": 51_975, "HU": 33_075, "IT": 151_200, "RO": 33_075}
    assert set(offs.groupby("country")["quarter"].nunique()) == {1}  # each once
    assert list(cumulative[[4, 5, 8]]) == [406_350, 439_425, 472_500]
    assert values[-1] == 1_046_634


def test_a_one_off_is_added_once_and_the_recurring_pace_continues():
    values = np.array([0, 20, 40, 160, 180.0])  # 100 reported once in the fourth quarter
    offs = np.array([0, 0, 0, 100, 100.0])
    assert list(projection.recurring(values, offs, 2, "flow")) == pytest.approx([200, 220])
    assert list(projection.line(values, offs, 2, "flow")) == pytest.approx([250, 320])  # as if it recurred
    growing = np.array([0, 10, 30, 60.0])  # gains 10, 20, 30: the trend goes on
    assert list(projection.recurring(growing, growing * 0, 2, "flow")) == pytest.approx([100, 150])
    assert list(projection.recurring(growing, growing * 0, 2, "stock")) == pytest.approx([80, 100])
    assert list(projection.line(np.array([0, 5, 10, 30.0]), np.zeros(4), 2, "flow")) == pytest.approx(
        [42.5, 55])  # the least-squares line of the last three quarters: +12.5 a quarter


def test_projected_from_2023_q1_the_one_offs_are_not_repeated(demo):
    _, (values, offs) = demo
    old = projection.line(values[:6], offs[:6], 3, "flow")[-1]
    new = projection.recurring(values[:6], offs[:6], 3, "flow")[-1]
    assert round(old) == 1_403_548  # +34% against the 1,046,634 reached
    assert round(new) == 1_025_351  # -2%
    shown = projection.project(values[:6], offs[:6], ["2023-Q2", "2023-Q3", "2023-Q4"], "flow", {3: 10.0})
    assert list(shown["quarter"]) == ["2023-Q2", "2023-Q3", "2023-Q4"]
    assert shown["central"].iloc[-1] == pytest.approx(new)
    assert (shown["low"].iloc[-1], shown["high"].iloc[-1]) == pytest.approx((0.9 * new, 1.1 * new))
    assert list(shown["low"].iloc[:2]) == list(shown["central"].iloc[:2])  # no error known: no range
    assert projection.project(values[:1], offs[:1], ["2022-Q1"], "flow").empty
    assert projection.project(values, offs, [], "flow").empty


def test_the_new_method_is_closer_than_the_old_on_the_demo_project(demo):
    _, (values, offs) = demo
    old = projection.backtest(values, offs, "flow", "line")
    new = projection.backtest(values, offs, "flow", "recurring")
    assert len(projection.to_the_end(new)) == 7  # from each quarter but the first and the last
    assert projection.mean_error(projection.to_the_end(old)) == pytest.approx(38.1, abs=0.05)
    assert projection.mean_error(projection.to_the_end(new)) == pytest.approx(25.1, abs=0.05)
    assert projection.mean_error(new) < projection.mean_error(old)  # every quarter ahead, too
    horizons = projection.by_horizon(new)
    assert list(horizons["ahead"]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(horizons["projections"]) == [7, 6, 5, 4, 3, 2, 1]
    assert horizons.set_index("ahead").loc[3, "mean_error"] == pytest.approx(40.7, abs=0.05)
    assert horizons.set_index("ahead").loc[3, "short"] == 100  # one-offs still to come


def test_the_trends_page_says_it_in_words(reg):
    kpi = reg.kpi("migrants_reached")
    projected = pd.DataFrame({"quarter": ["2023-Q4"], "central": [1_025_351.0], "low": [608_000.0],
                              "high": [1_442_000.0]})
    assert tables.outlook(projected, 1_000_000, "migrants") == (
        "Projected for 2023-Q4: ~1,025,351 migrants (range 608,000–1,442,000); target 1,000,000: "
        "the target is reached at this pace.")
    assert tables.final_position(1_046_634, 1_000_000, "migrants", "2023-Q4") == (
        "Final position at 2023-Q4, the project's last quarter: 1,046,634 migrants, 105% of the "
        "target of 1,000,000.")
    method = tables.projection_method(reg, kpi, 439_425, "2023-Q1")
    assert "Migrants in the council's territory" in method and "439,425 migrants" in method
    assert "never repeated" in method and "not foreseen" in method
    assert tables.projection_method(reg, reg.kpi("councils_established"), 0, "2023-Q1") == (
        "How: the average quarterly gain of the last three quarters continues.")
    horizons = pd.DataFrame({"ahead": [3], "projections": [5], "mean_error": [40.7], "short": [100.0]})
    assert tables.backtest_note(horizons, 3, "2023-Q4") == (
        "Checked on this project up to 2023-Q4: projections made 3 quarter(s) ahead were off by 41% "
        "on average (5 projection(s), 100% of them short of what was reported); the range shows "
        "that error.")
    assert tables.backtest_note(horizons, 4, "2023-Q4").startswith("Not checked yet")

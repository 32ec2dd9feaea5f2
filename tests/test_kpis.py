"""KPI values on the demo data, asserted exactly, and the counting rules behind them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.marts import kpis

# The demo data of seed 0 as of 2023-Q4: (whole project, per country AT BG FR GR HU IT RO).
EXPECTED_2023_Q4 = {
    "councils_established": (5, [0, 1, 1, 1, 1, 0, 1]),
    "councils_strengthened": (2, [1, 0, 0, 0, 0, 1, 0]),
    "authorities_supporting": (7, [1, 1, 1, 1, 1, 1, 1]),
    "migrants_reached": (1_046_634, [63_000, 42_000, 346_500, 115_501, 70_132, 336_000, 73_501]),
    "direct_participants": (5_533, [733, 707, 883, 628, 851, 756, 975]),
    # from the registers of Austria, Greece and Romania only (demo_data.REGISTERS)
    "unique_participants": (798, [249, 0, 0, 224, 0, 0, 325]),
}


@pytest.fixture(scope="module")
def con(demo_db):
    connection = duckdb.connect(str(demo_db), read_only=True)
    yield connection
    connection.close()


def values(frame, kpi_id):
    rows = frame[frame["id"] == kpi_id]
    overall = rows[rows["country"].isna()]["value"].item()
    return overall, rows[rows["country"].notna()]["value"].astype(int).tolist()


@pytest.mark.parametrize("kpi_id", list(EXPECTED_2023_Q4))
def test_demo_values_as_of_2023_q4(con, reg, kpi_id):
    frame = kpis.compute(con, reg, "2023-Q4")
    assert values(frame, kpi_id) == EXPECTED_2023_Q4[kpi_id]


def test_the_four_targets_are_met_at_the_end(con, reg):
    frame = kpis.compute(con, reg, "2023-Q4")
    overall = frame[frame["country"].isna()].set_index("id")
    assert overall.loc["councils_established", ["value", "target"]].tolist() == [5, 5]
    assert overall.loc["councils_strengthened", ["value", "target"]].tolist() == [2, 2]
    assert overall.loc["authorities_supporting", ["value", "target"]].tolist() == [7, 7]
    assert overall.loc["migrants_reached", "value"] > 1_000_000
    assert set(overall.loc[["councils_established", "migrants_reached"], "status"]) == {"achieved"}


def test_mid_project_status_against_the_plan(con, reg):
    frame = kpis.compute(con, reg, "2022-Q3")
    overall = frame[frame["country"].isna()].set_index("id")
    assert overall.loc["councils_established", ["value", "planned", "status"]].tolist() == [2, 2, "on_track"]
    assert overall.loc["migrants_reached", ["value", "planned"]].tolist() == [192_108, 180_000]
    france = frame[(frame["country"] == "FR") & (frame["id"] == "migrants_reached")].iloc[0]
    assert france["status"] == "off_track"  # 31,763 against a plan of 59,400


def test_stocks_are_not_summed_over_quarters(con, reg):
    """Each council is reported in up to nine quarters; the KPI counts it once."""
    reported = con.execute("SELECT count(*) FROM councils").fetchone()[0]
    distinct = con.execute("SELECT count(DISTINCT (country, council_id)) FROM councils").fetchone()[0]
    assert (reported, distinct) == (62, 7)
    frame = kpis.compute(con, reg, "2023-Q4")
    total = frame[frame["id"].isin(["councils_established", "councils_strengthened"])
                  & frame["country"].isna()]["value"].sum()
    assert total == distinct


def test_national_authorities_do_not_count(con, reg):
    supporting = con.execute("SELECT count(DISTINCT (country, authority_id)) FROM authorities "
                             "WHERE status = 'supporting' AND quarter = '2023-Q4'").fetchone()[0]
    frame = kpis.compute(con, reg, "2023-Q4")
    assert supporting == 9  # seven local or regional authorities and two ministries
    assert values(frame, "authorities_supporting")[0] == 7


def test_direct_and_indirect_are_kept_apart(con, reg):
    frame = kpis.compute(con, reg, "2023-Q4")
    reach = values(frame, "migrants_reached")[0]
    outreach = con.execute("SELECT sum(migrants_reached) FROM outreach").fetchone()[0]
    assert reach == outreach  # no participants added in


@pytest.mark.parametrize(("value", "target", "planned", "expected"), [
    (5, 5, 5, "achieved"), (6, 5, 5, "achieved"), (3, 5, 3, "on_track"), (3, 5, 2, "on_track"),
    (4, 5, 5, "at_risk"), (3, 5, 5, "off_track"), (0, 0, 0, "no_target"), (10, None, None, "no_target"),
])
def test_status_rule(value, target, planned, expected):
    assert kpis.status(value, target, planned, ratio=0.8) == expected


def test_as_of_outside_the_project_is_refused(con, reg):
    with pytest.raises(ValueError, match="outside the project period"):
        kpis.compute(con, reg, "2025-Q1")


def test_every_quarter_as_recorded(con, reg):
    """`mvh kpis --json` of every quarter of the demo project, exactly as recorded in
    tests/fixtures/demo_kpis.json: a change of layout or of how a rule is written must not move
    a single figure. Regenerate the file only for a deliberate change of the demo data or rules."""
    recorded = json.loads((Path(__file__).parent / "fixtures" / "demo_kpis.json").read_text("utf-8"))
    assert list(recorded) == reg.quarters
    for quarter, rows in recorded.items():
        assert kpis.as_json(kpis.compute(con, reg, quarter), quarter)["kpis"] == rows, quarter

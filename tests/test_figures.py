"""Figure builders, without a browser."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pytest

from dashboard import figures, tables
from pipelines.marts import kpis, projection, provenance


@pytest.fixture(scope="module")
def con(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as connection:
        yield connection


def test_progress_by_quarter_shows_reported_and_planned(demo_db, reg):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        series = kpis.series(con, reg, "2022-Q4")
    fig = figures.progress_by_quarter(series, reg)
    titles = [a.text for a in fig.layout.annotations if not a.text.startswith("target")]
    assert titles == ["Migrant councils<br>established", "Migrant councils<br>strengthened",
                      "Authorities<br>supporting<br>councils", "Migrants reached"]  # two fit a phone
    assert list(fig.layout.xaxis.tickvals) == ["2021-Q4", "2022-Q4", "2023-Q4"]  # a tick a year
    reported = [t for t in fig.data if t.name == "Reported"]
    planned = [t for t in fig.data if t.name == "Planned"]
    assert len(reported) == len(planned) == 4
    assert list(reported[0].x) == ["2021-Q4", "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"]
    assert list(reported[0].y) == [0, 0, 1, 2, 3]
    assert list(planned[3].y)[-1] == 1_000_000


def test_the_map_colours_shapes_and_labels_each_country_by_status(con, reg):
    now = kpis.compute(con, reg, "2022-Q3")
    statuses = tables.country_statuses(now, reg)
    assert dict(zip(statuses["country"], statuses["status"], strict=True)) == {
        "AT": "on_track", "BG": "on_track", "FR": "off_track", "GR": "on_track",
        "HU": "off_track", "IT": "off_track", "RO": "off_track"}
    fig = figures.country_map(statuses, reg, "Worst status, 2022-Q3")
    assert [t.name for t in fig.data] == ["● On track", "✖ Off track"]  # the legend, in words
    on, off = fig.data
    assert list(on.text) == ["AT ● 3/3", "BG ● 3/3", "GR ● 3/3"]  # its targets on track
    assert list(off.text) == ["FR ✖ 2/3", "HU ✖ 2/3", "IT ✖ 2/3", "RO ✖ 2/3"]
    assert list(off.customdata) == ["FR", "HU", "IT", "RO"]
    assert on.marker.color == reg.status_rule.statuses["on_track"].colour
    assert on.marker.symbol != off.marker.symbol  # shape too, not colour alone
    assert (off.lat[1], off.lon[1]) == (reg.country("HU").lat, reg.country("HU").lon)
    assert fig.layout.geo.scope == "europe" and fig.layout.geo.resolution == 110
    one = tables.country_statuses(now, reg, "migrants_reached").set_index("country")
    assert one.loc["GR", "status"] == "on_track"
    assert list(one["figure"]) == ["34k", "23k", "32k", "63k", "3,369", "31k", "6,738"]
    assert [tables.compact(v) for v in (7, 9_500, 1_046_634)] == ["7", "9,500", "1.05M"]


def label_boxes(points: dict, where: dict, scale: float) -> dict[str, tuple]:
    """Each label's box in pixels (y down) at a map scale, as plotly lays it beside its place."""
    boxes = {}
    for key, (lon, lat, text) in points.items():
        width = figures.CHAR * len(text)
        dx, dy = figures.LABEL_PLACES[where[key]](width, figures.LINE)
        x, y = scale * lon + dx, -scale * figures._mercator(lat) + dy
        boxes[key] = (x, y, x + width, y + figures.LINE)
    return boxes


def test_map_labels_do_not_cover_each_other_on_a_phone_nor_a_wide_screen(reg):
    places = {c.code: (c.lon, c.lat, f"{c.code} ✔ 1.05M") for c in reg.countries}
    where = figures.label_positions(places)
    assert where["FR"] == "middle right"
    assert where["AT"] != "middle right" and where["HU"] != "middle left"  # Budapest lies east of Graz
    for scale in figures._label_scales():
        boxes = label_boxes(places, where, scale)
        for a, b in itertools.combinations(boxes, 2):
            (l1, t1, r1, b1), (l2, t2, r2, b2) = boxes[a], boxes[b]
            assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1, (a, b, scale)
        assert min(box[0] for box in boxes.values()) >= scale * figures.MAP_RANGE["lon"][0]
        assert max(box[2] for box in boxes.values()) <= scale * figures.MAP_RANGE["lon"][1]  # not cut off


def test_trend_projects_from_the_as_of_quarter_to_the_end(con, reg):
    series = kpis.series(con, reg, "2023-Q1")
    offs = projection.one_offs(con, reg, reg.kpi("migrants_reached"), "2023-Q1")
    values, added = projection.cumulative(series, offs, reg, "migrants_reached", "2023-Q1")
    projected = projection.project(values, added, ["2023-Q2", "2023-Q3", "2023-Q4"], "flow", {3: 40.0})
    fig = figures.trend(series, reg, "migrants_reached", "2023-Q1", projected)
    traces = {t.name: t for t in fig.data if t.name}
    assert set(traces) == {"Planned", "Range of past errors", "Projection", "Reported"}
    assert list(traces["Reported"].x)[-1] == "2023-Q1"
    assert list(traces["Reported"].y)[-1] == 676_684
    assert list(traces["Projection"].x) == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]
    assert list(traces["Projection"].y)[0] == 676_684  # it starts where the reported line ends
    assert list(traces["Projection"].y)[1:] == pytest.approx(list(projected["central"]))
    assert list(traces["Projection"].y)[-1] == pytest.approx(1_025_351, abs=1)  # no one-off repeated
    assert traces["Range of past errors"].fill == "tonexty"
    assert list(traces["Range of past errors"].y)[-1] == pytest.approx(0.6 * 1_025_351, abs=1)
    assert [a.text for a in fig.layout.annotations] == ["target 1,000,000"]
    no_plan = figures.trend(series, reg, "direct_participants", "2023-Q1", projected.iloc[0:0])
    assert [t.name for t in no_plan.data] == ["Reported"]


def test_trend_by_country_has_a_labelled_line_per_country(con, reg):
    series = kpis.series(con, reg, "2022-Q4")
    fig = figures.trend_by_country(series, reg, "authorities_supporting")
    assert [t.name for t in fig.data] == [f"{c.name} ({c.code})" for c in reg.countries]
    labels = fig.layout.annotations
    assert [a.text for a in labels] == [c.code for c in reg.countries]
    assert [a.y for a in labels] == [1, 1, 1, 1, 1, 0, 0]  # five countries end at 1: labels spread
    heights = sorted(a.ay for a in labels)
    gap = figures.LABEL_GAP * fig.layout.yaxis.range[1] / figures.PLOT_HEIGHT
    assert min(b - a for a, b in itertools.pairwise(heights)) == pytest.approx(gap)
    for told_apart in ({t.marker.symbol for t in fig.data}, {t.line.color for t in fig.data},
                       {(t.line.dash, t.marker.symbol) for t in fig.data}):
        assert len(told_apart) == len(reg.countries)  # by colour, and by more than colour
    assert figures.spread([5, 5, 0], 2, 6) == [4, 6, 0]
    assert list(fig.data[2].y) == [0, 0, 0, 1, 1]  # France's authority supports from 2022-Q3


def test_participations_show_small_counts_as_less_than_five(con, reg):
    activities = provenance.sheet_rows(con, reg, "activities", "participants_total", "2023-Q4")
    parts = tables.breakdown(activities, reg, reg.kpi("direct_participants"))
    fig = figures.breakdown(parts)
    assert [a.text for a in fig.layout.annotations] == ["By sex", "By age"]
    sex, age = fig.data
    assert list(sex.y) == ["Female", "Male", "Other or unknown sex"]
    assert sum(sex.x) == sum(age.x) == 5533
    small = figures.breakdown(pd.DataFrame(
        {"by": ["sex", "sex"], "category": ["Female", "Male"], "count": [3, 12]}))
    assert list(small.data[0].text) == ["<5", "12"] and list(small.data[0].x) == [0, 12]


def test_outreach_by_channel_adds_up_to_migrants_reached(con, reg):
    outreach = provenance.sheet_rows(con, reg, "outreach", "migrants_reached", "2023-Q4")
    channels = tables.by_category(outreach, reg, reg.kpi("migrants_reached"))
    fig = figures.by_category(channels, "Migrants reached (migrants)", "migrants")
    bars = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))
    assert sum(bars.values()) == 1_046_634
    assert bars["Migrants in the council's territory"] == 472_500

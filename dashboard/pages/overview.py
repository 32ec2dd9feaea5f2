"""Overview: the four targets, the country x KPI status grid and progress by quarter.

The as-of quarter is in the URL (/?as_of=2023-Q4), so every view can be linked.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dashboard import data, figures
from dashboard.ui import number, status_badge
from pipelines import registry

dash.register_page(__name__, path="/", name="Overview", title="Overview", order=0)


def layout(as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return html.Div([html.H1("No data yet"), html.P(
            "Nothing has been ingested. Run `make ingest` (or `mvh ingest FILES`) and reload.")],
            className="empty")
    as_of = as_of.upper() if as_of and as_of.upper() in reg.quarters else latest
    series = data.kpi_series(as_of)
    now = series[series["quarter"] == as_of]
    before = series[series["quarter"] < as_of]
    previous = before["quarter"].max() if len(before) else None
    return html.Div([
        dcc.Location(id="overview-url", refresh="callback-nav"),
        html.Div([
            html.H1(["Progress as of ", html.Span(as_of, id="overview-as-of-shown")]),
            html.Label(["As of quarter", dcc.Dropdown(
                id="overview-as-of", options=reg.quarters, value=as_of, clearable=False,
                searchable=False, className="quarter-picker")], className="picker-label"),
        ], className="page-head"),
        html.Section([_card(reg, kpi, now, before, previous) for kpi in reg.kpis
                      if kpi.target is not None], className="cards",
                     **{"aria-label": "Targets"}),
        html.Section([_side_figures(reg, now)], className="side"),
        html.Section([html.H2("Countries"), _grid(reg, now)], className="panel"),
        html.Section([
            html.H2("Progress by quarter against the plan"),
            dcc.Graph(id="overview-progress", figure=figures.progress_by_quarter(series, reg),
                      config={"displaylogo": False,
                              "toImageButtonOptions": {"format": "png", "filename": "mvh-progress"}}),
        ], className="panel"),
    ])


@callback(Output("overview-url", "search"), Input("overview-as-of", "value"),
          prevent_initial_call=True)
def _choose_quarter(as_of: str) -> str:
    return f"?as_of={as_of}"


def _one(frame: pd.DataFrame, kpi_id: str, country: str | None = None) -> dict:
    rows = frame[(frame["id"] == kpi_id) & (
        frame["country"].isna() if country is None else frame["country"] == country)]
    return rows.iloc[0].to_dict()


def _card(reg, kpi, now: pd.DataFrame, before: pd.DataFrame, previous: str | None) -> html.Article:
    row = _one(now, kpi.id)
    percent = row["percent"] or 0.0
    if previous:
        change = row["value"] - _one(before[before["quarter"] == previous], kpi.id)["value"]
        change_text = (f"{change:+,.0f} since {previous}" if change else f"no change since {previous}")
    else:
        change_text = "first quarter of the project"
    return html.Article([
        html.H2(kpi.label, className="card-title"),
        html.P([html.Span(number(row["value"]), className="card-value",
                          id=f"overview-value-{kpi.id}"),
                html.Span(f" of {number(row['target'])} {kpi.unit}", className="card-target")]),
        html.Div(html.Div(className="bar-fill", style={"width": f"{min(percent, 100):.0f}%"}),
                 className="bar", role="progressbar", title=f"{percent:.0f}% of target",
                 **{"aria-valuenow": f"{percent:.0f}", "aria-valuemin": "0",
                    "aria-valuemax": "100", "aria-label": f"{kpi.label}: {percent:.0f}% of target"}),
        html.P([status_badge(reg, row["status"], id=f"overview-status-{kpi.id}"),
                html.Span(f" {percent:.0f}% · planned by now {number(row['planned'])}",
                          className="muted")]),
        html.P(change_text, className="muted change", id=f"overview-change-{kpi.id}"),
    ], className="card", id=f"overview-card-{kpi.id}")


def _side_figures(reg, now: pd.DataFrame) -> html.Div:
    """KPIs without a target (direct participants), shown beside the targets, never added."""
    items = []
    for kpi in (k for k in reg.kpis if k.target is None):
        row = _one(now, kpi.id)
        items.append(html.P([html.Strong(f"{kpi.label}: "),
                             html.Span(number(row["value"]), id=f"overview-value-{kpi.id}"),
                             f" {kpi.unit}. ", html.Span(kpi.counting_rule, className="muted")]))
    return html.Div(items)


def _grid(reg, now: pd.DataFrame) -> html.Table:
    """Countries x KPIs: value of target and status, in words and symbol, not colour alone."""
    kpis = [k for k in reg.kpis if k.target is not None]
    head = html.Thead(html.Tr([html.Th("Country", scope="col"),
                               *(html.Th(k.label, scope="col") for k in kpis)]))
    body = []
    for country in reg.countries:
        cells = [html.Th(f"{country.name} ({country.code})", scope="row")]
        for kpi in kpis:
            row = _one(now, kpi.id, country.code)
            text = (f"{number(row['value'])} / {number(row['target'])}" if row["target"]
                    else "no share")
            cells.append(html.Td([html.Span(text, className="grid-value"), html.Br(),
                                  status_badge(reg, row["status"])],
                                 id=f"overview-grid-{country.code}-{kpi.id}"))
        body.append(html.Tr(cells))
    return html.Div(html.Table([head, html.Tbody(body)], className="grid", id="overview-grid"),
                    className="table-scroll")

"""Overview: the four targets, the country x KPI status grid and progress by quarter.

The as-of quarter is in the URL (/?as_of=2023-Q4), so every view can be linked.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, data, figures, tables, ui
from dashboard.ui import number, status_badge
from pipelines.declaration import registry

dash.register_page(__name__, path="/", name="Overview", title="Overview", order=0,
                   access="partner")


def layout(as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    series = data.kpi_series(as_of)
    now = series[series["quarter"] == as_of]
    before = series[series["quarter"] < as_of]
    previous = before["quarter"].max() if len(before) else None
    return html.Div([
        dcc.Location(id="overview-url", refresh="callback-nav"), *args.notes(),
        html.Div([
            html.H1(["Progress as of ", html.Span(as_of, id="overview-as-of-shown")]),
            html.Label(["As of quarter", dcc.Dropdown(
                id="overview-as-of", options=reg.quarters, value=as_of, clearable=False,
                searchable=False, className="quarter-picker")], className="picker-label"),
        ], className="page-head"),
        html.Section([_card(reg, kpi, now, before, previous, as_of) for kpi in reg.kpis
                      if kpi.target is not None], className="cards",
                     **{"aria-label": "Targets"}),
        html.Section([_side_figures(reg, now, as_of)], className="side"),
        html.Section([html.H2("Countries"),
                      html.P(f"Each cell: the value as of {as_of} against the value planned by then, "
                             "which its status judges; the country's full target below it.",
                             className="muted"),
                      _grid(reg, now, as_of)], className="panel"),
        html.Section([
            html.H2("Progress by quarter against the plan"),
            ui.graph("overview-progress", _progress(as_of), "progress"),
        ], className="panel"),
    ])


ui.filters_in_url("overview", as_of="overview-as-of")


@data.kept
def _progress(as_of: str) -> dict:
    """The progress chart, kept with the data it is drawn from (building it takes ~50 ms)."""
    return figures.progress_by_quarter(data.kpi_series(as_of), registry.get()).to_dict()


def _one(frame: pd.DataFrame, kpi_id: str, country: str | None = None) -> dict:
    rows = frame[(frame["id"] == kpi_id) & (
        frame["country"].isna() if country is None else frame["country"] == country)]
    return rows.iloc[0].to_dict()


def _to_rows(shown, kpi, country: str | None, as_of: str) -> dcc.Link:
    """A KPI value as a link to the rows behind it (the Provenance page): one click, for those
    who may open it."""
    if not auth.may_open("/provenance"):
        return shown
    return dcc.Link(shown, href=f"/provenance{ui.query(kpi=kpi.id, country=country, as_of=as_of)}",
                    className="value-link", title="the rows behind this number")


def _card(reg, kpi, now: pd.DataFrame, before: pd.DataFrame, previous: str | None,
          as_of: str) -> html.Article:
    row = _one(now, kpi.id)
    percent = row["percent"] or 0.0
    if previous:
        change = row["value"] - _one(before[before["quarter"] == previous], kpi.id)["value"]
        change_text = (f"{change:+,.0f} since {previous}" if change else f"no change since {previous}")
    else:
        change_text = "first quarter of the project"
    return html.Article([
        html.H2(kpi.label, className="card-title"),
        html.P([_to_rows(html.Span(number(row["value"]), className="card-value",
                                   id=f"overview-value-{kpi.id}"), kpi, None, as_of),
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


def _side_figures(reg, now: pd.DataFrame, as_of: str) -> html.Div:
    """KPIs without a target (direct participants), shown beside the targets, never added."""
    items = []
    for kpi in (k for k in reg.kpis if k.target is None):
        row = _one(now, kpi.id)
        items.append(html.P([html.Strong(f"{kpi.label}: "),
                             _to_rows(html.Span(number(row["value"]), id=f"overview-value-{kpi.id}"),
                                      kpi, None, as_of),
                             f" {kpi.unit}", tables.collected_note(reg, data.collected(as_of))
                             if kpi.source.register_count else "", ". ",
                             html.Span(kpi.counting_rule, className="muted")]))
    return html.Div(items)


def _grid(reg, now: pd.DataFrame, as_of: str) -> html.Table:
    """Countries x KPIs: the value against the plan for the quarter, which the status judges (in
    words and symbol, not colour alone), and the full target beside it."""
    kpis = [k for k in reg.kpis if k.target is not None]
    head = html.Thead(html.Tr([html.Th("Country", scope="col"),
                               *(html.Th(k.label, scope="col") for k in kpis)]))
    body = []
    for country in reg.countries:
        name = f"{country.name} ({country.code})"
        cells = [html.Th(dcc.Link(name, href=f"/countries{ui.query(country=country.code, as_of=as_of)}")
                         if auth.may_open("/countries") else name, scope="row")]
        for kpi in kpis:
            row = _one(now, kpi.id, country.code)
            text = (f"{number(row['value'])} / {number(row['planned'])}" if row["target"]
                    else "no share")
            target = ([html.Span(" planned", className="muted"), html.Br(),
                       html.Span(f"target {number(row['target'])}", className="muted")]
                      if row["target"] else [])
            cells.append(html.Td([_to_rows(html.Span(text, className="grid-value"), kpi,
                                           country.code, as_of), *target, html.Br(),
                                  status_badge(reg, row["status"])],
                                 id=f"overview-grid-{country.code}-{kpi.id}"))
        body.append(html.Tr(cells))
    return html.Div(html.Table([head, html.Tbody(body)], className="grid", id="overview-grid"),
                    className="table-scroll")

"""Trends: will we make it by the end date? Each KPI by quarter against its planned trajectory,
projected to the project's end from the last three quarters (with a range), and per country.

/trends?kpi=migrants_reached&as_of=2023-Q1 (as_of: the quarter to project from; default latest).
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, figures, tables, ui
from pipelines.declaration import registry

dash.register_page(__name__, path="/trends", name="Trends", title="Trends", order=2)


def layout(kpi: str | None = None, as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    chosen = reg.kpi(args.pick(kpi, [k.id for k in reg.kpis], "KPI", reg.kpis[0].id))
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    series = data.kpi_series(as_of)
    mine = series[series["id"] == chosen.id]
    overall = mine[mine["country"].isna()].sort_values("quarter")
    now = overall.iloc[-1]
    remaining = [q for q in reg.quarters if q > as_of]
    projected = tables.projection(list(overall["value"]), remaining)
    return html.Div([
        dcc.Location(id="trends-url", refresh="callback-nav"), *args.notes(),
        ui.page_head("Trends",
                     ui.picker("trends-kpi", "KPI", ui.kpi_options(reg), chosen.id),
                     ui.picker("trends-as-of", "Project from quarter", reg.quarters, as_of)),
        html.Section([
            html.H2(chosen.label),
            html.P([f"As of {as_of}: ",
                    dcc.Link(ui.number(now["value"]), id="trends-value", className="value-link",
                             href=f"/provenance{ui.query(kpi=chosen.id, as_of=as_of)}"),
                    f" {chosen.unit}",
                    *([f" of {ui.number(now['target'])} (planned by now "
                       f"{ui.number(now['planned'])}) ", ui.status_badge(reg, now["status"])]
                      if chosen.target is not None else [" (no target)"])], className="lead"),
            html.P(tables.outlook(projected, chosen.target), id="trends-outlook"),
            ui.graph("trends-chart", figures.trend(series, reg, chosen.id, as_of, projected),
                     f"trend-{chosen.id}"),
            html.P("Projection: the least-squares line through the last three quarters; its range "
                   "runs from the smallest to the largest quarterly gain among them.",
                   className="muted"),
        ], className="panel"),
        html.Section([
            html.H2("By country"),
            ui.graph("trends-countries", figures.trend_by_country(series, reg, chosen.id),
                     f"trend-{chosen.id}-countries"),
            ui.table("trends-table", _by_country(mine, reg)),
        ], className="panel"),
    ])


def _by_country(mine: pd.DataFrame, reg) -> pd.DataFrame:
    """Countries x quarters of one KPI, the whole project last."""
    frame = mine.assign(country=mine["country"].fillna("all")).pivot_table(
        index="country", columns="quarter", values="value", aggfunc="first")
    order = [c.code for c in reg.countries] + ["all"]
    return frame.reindex(order).rename_axis(None, axis=1).reset_index()


ui.filters_in_url("trends", kpi="trends-kpi", as_of="trends-as-of")

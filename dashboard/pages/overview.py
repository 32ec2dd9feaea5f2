"""Overview: the four targets, the country x KPI status grid and progress by quarter.

The as-of quarter is in the URL (/?as_of=2023-Q4), so every view can be linked.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, data, figures, i18n, tables, ui
from dashboard.i18n import _
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
    head, _quarter, tail = _("Progress as of {quarter}").partition("{quarter}")
    return html.Div([
        dcc.Location(id="overview-url", refresh="callback-nav"), *args.notes(),
        html.Div([
            html.H1([head, html.Span(as_of, id="overview-as-of-shown"), tail]),
            html.Label([_("As of quarter"), dcc.Dropdown(
                id="overview-as-of", options=reg.quarters, value=as_of, clearable=False,
                searchable=False, className="quarter-picker")], className="picker-label"),
        ], className="page-head"),
        html.Section([_card(reg, kpi, now, before, previous, as_of) for kpi in reg.kpis
                      if kpi.target is not None], className="cards",
                     **{"aria-label": _("Targets")}),
        html.Section([_side_figures(reg, now, as_of)], className="side"),
        html.Section([html.H2(_("Countries")),
                      html.P(_("Each cell: the value as of {quarter} against the value planned by then, "
                               "which its status judges; the country's full target below it.", quarter=as_of),
                             className="muted"),
                      _grid(reg, now, as_of)], className="panel"),
        html.Section([
            html.H2(_("Progress by quarter against the plan")),
            ui.graph("overview-progress", _progress(as_of, i18n.lang()), "progress"),
        ], className="panel"),
    ])


ui.filters_in_url("overview", as_of="overview-as-of")


@data.kept
def _progress(as_of: str, lang: str) -> dict:
    """The progress chart, kept with the data it is drawn from (building it takes ~50 ms), in its
    reader's language (`lang`, so that each language keeps its own)."""
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
                    className="value-link", title=_("the rows behind this number"))


def _card(reg, kpi, now: pd.DataFrame, before: pd.DataFrame, previous: str | None,
          as_of: str) -> html.Article:
    row = _one(now, kpi.id)
    percent = row["percent"] or 0.0
    if previous:
        change = row["value"] - _one(before[before["quarter"] == previous], kpi.id)["value"]
        signed = ("+" if change > 0 else "-") + number(abs(change))
        change_text = (_("{change} since {quarter}", change=signed, quarter=previous) if change
                       else _("no change since {quarter}", quarter=previous))
    else:
        change_text = _("first quarter of the project")
    label, share = i18n.kpi(kpi), f"{percent:.0f}"
    return html.Article([
        html.H2(label, className="card-title"),
        html.P([_to_rows(html.Span(number(row["value"]), className="card-value",
                                   id=f"overview-value-{kpi.id}"), kpi, None, as_of),
                html.Span(" " + _("of {target} {unit}", target=number(row["target"]),
                                  unit=i18n.kpi(kpi, "unit")), className="card-target")]),
        html.Div(html.Div(className="bar-fill", style={"width": f"{min(percent, 100):.0f}%"}),
                 className="bar", role="progressbar", title=_("{percent}% of target", percent=share),
                 **{"aria-valuenow": share, "aria-valuemin": "0", "aria-valuemax": "100",
                    "aria-label": _("{kpi}: {percent}% of target", kpi=label, percent=share)}),
        html.P([status_badge(reg, row["status"], id=f"overview-status-{kpi.id}"),
                html.Span(" " + _("{percent}% · planned by now {planned}", percent=share,
                                  planned=number(row["planned"])), className="muted")]),
        html.P(change_text, className="muted change", id=f"overview-change-{kpi.id}"),
    ], className="card", id=f"overview-card-{kpi.id}")


def _side_figures(reg, now: pd.DataFrame, as_of: str) -> html.Div:
    """KPIs without a target (direct participants), shown beside the targets, never added."""
    items = []
    for kpi in (k for k in reg.kpis if k.target is None):
        row = _one(now, kpi.id)
        items.append(html.P([html.Strong(f"{i18n.kpi(kpi)}: "),
                             _to_rows(html.Span(number(row["value"]), id=f"overview-value-{kpi.id}"),
                                      kpi, None, as_of),
                             f" {i18n.kpi(kpi, 'unit')}", tables.collected_note(reg, data.collected(as_of))
                             if kpi.source.register_count else "", ". ",
                             html.Span(i18n.kpi(kpi, "counting_rule"), className="muted")]))
    return html.Div(items)


def _grid(reg, now: pd.DataFrame, as_of: str) -> html.Table:
    """Countries x KPIs: the value against the plan for the quarter, which the status judges (in
    words and symbol, not colour alone), and the full target beside it."""
    kpis = [k for k in reg.kpis if k.target is not None]
    head = html.Thead(html.Tr([html.Th(_("Country"), scope="col"),
                               *(html.Th(i18n.kpi(k), scope="col") for k in kpis)]))
    body = []
    for country in reg.countries:
        name = i18n.country(country.code)
        cells = [html.Th(dcc.Link(name, href=f"/countries{ui.query(country=country.code, as_of=as_of)}")
                         if auth.may_open("/countries") else name, scope="row")]
        for kpi in kpis:
            row = _one(now, kpi.id, country.code)
            text = (f"{number(row['value'])} / {number(row['planned'])}" if row["target"]
                    else _("no share"))
            target = ([html.Span(" " + _("planned"), className="muted"), html.Br(),
                       html.Span(_("target {target}", target=number(row["target"])), className="muted")]
                      if row["target"] else [])
            cells.append(html.Td([_to_rows(html.Span(text, className="grid-value"), kpi,
                                           country.code, as_of), *target, html.Br(),
                                  status_badge(reg, row["status"])],
                                 id=f"overview-grid-{country.code}-{kpi.id}"))
        body.append(html.Tr(cells))
    return html.Div(html.Table([head, html.Tbody(body)], className="grid", id="overview-grid"),
                    className="table-scroll")

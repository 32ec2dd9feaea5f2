"""Countries: which country lags? A map of the seven council places coloured and labelled by status,
and a page per country (/countries?country=BG): its KPIs, councils and authorities, participants
by sex and by age, outreach by channel with its estimation methods, and its submissions.
A partner opens their own country's page only, whatever the URL asks (checked on the server), with
their own organisation's notes where the country reports per organisation.
"""

from __future__ import annotations

import datetime as dt

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import auth, data, figures, flows, tables, ui
from pipelines.declaration import registry

dash.register_page(__name__, path="/countries", name="Countries", title="Countries", order=1,
                   access="partner")

ALL = "all"


def layout(country: str | None = None, kpi: str | None = None, as_of: str | None = None,
           **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    code = auth.scope() or args.pick(country, [c.code for c in reg.countries], "country")
    targeted = [k for k in reg.kpis if k.target is not None]
    kpi = args.pick(kpi, [ALL, *(k.id for k in targeted)], "KPI with a target", ALL)
    body = _country(reg, code, as_of) if code else _overview(reg, targeted, kpi, as_of)
    return html.Div([dcc.Location(id="countries-url", refresh="callback-nav"), *args.notes(), body])


def _overview(reg, targeted: list, kpi: str, as_of: str) -> html.Div:
    now = data.kpis_at(as_of)
    statuses = tables.country_statuses(now, reg, None if kpi == ALL else kpi)
    title = ("Worst status over all targets" if kpi == ALL else reg.kpi(kpi).label) + f", {as_of}"
    options = [{"label": "All targets (worst status)", "value": ALL},
               *ui.kpi_options(reg, targeted_only=True)]
    return html.Div([
        ui.page_head("Countries",
                     ui.picker("countries-kpi", "Status of", options, kpi),
                     ui.picker("countries-as-of", "As of quarter", reg.quarters, as_of)),
        html.Section([ui.graph("countries-map", figures.country_map(statuses, reg, title),
                               "countries-map"),
                      html.P(("Each label: the country, its status's symbol and "
                              + ("how many of its targets are on track or achieved, of those it has a "
                                 "share of" if kpi == ALL else f"its {reg.kpi(kpi).unit}")
                              + ". Click a place, or a country in the table, to open its page."),
                             className="muted", id="countries-map-note")], className="panel"),
        html.Section([html.H2("Status by country and target"),
                      _table(reg, now, targeted, as_of)], className="panel"),
    ])


def _table(reg, now: pd.DataFrame, targeted, as_of: str) -> html.Div:
    overall = tables.country_statuses(now, reg)
    shown = dict(zip(overall["country"], overall["status"], strict=True))
    head = html.Thead(html.Tr([html.Th("Country", scope="col"), html.Th("Place", scope="col"),
                               html.Th("Worst of all targets", scope="col"),
                               *(html.Th(k.label, scope="col") for k in targeted)]))
    rows = []
    for c in reg.countries:
        mine = now[now["country"] == c.code].set_index("id")
        href = "/countries" + ui.query(country=c.code, as_of=as_of)
        rows.append(html.Tr([
            html.Th(dcc.Link(f"{c.name} ({c.code})", href=href), scope="row"),
            html.Td(c.place), html.Td(ui.status_badge(reg, shown[c.code]),
                                      id=f"countries-status-{c.code}-all"),
            *(html.Td(ui.status_badge(reg, mine.loc[k.id, "status"]),
                      id=f"countries-status-{c.code}-{k.id}") for k in targeted)],
            id=f"countries-row-{c.code}"))
    return html.Div(html.Table([head, html.Tbody(rows)], className="grid", id="countries-table"),
                    className="table-scroll")


def _country(reg, code: str, as_of: str) -> html.Div:
    country = reg.country(code)
    now = data.kpis_at(as_of)
    return html.Div([
        ui.page_head(f"{country.name} ({code}) · {country.place}",
                     ui.picker("countries-country", "Country", ui.country_options(auth.scoped(reg)[0]), code),
                     ui.picker("countries-country-as-of", "As of quarter", reg.quarters, as_of)),
        None if auth.scope() else html.P(dcc.Link("← all countries",
                                                  href=f"/countries{ui.query(as_of=as_of)}")),
        html.Section([html.Dl([html.Dt("Partners"), html.Dd("; ".join(country.partners)),
                               *(part for label, text in country.facts.items()
                                 for part in (html.Dt(label), html.Dd(text))),
                               html.Dt("Language"), html.Dd(country.language)],
                              className="facts"),
                      _kpis(reg, now[now["country"] == code], code, as_of)], className="panel"),
        *(html.Section([html.H2(f"{reg.sheet(spec.sheet).label('en')} (latest status as of {as_of})"),
                        ui.table(f"countries-{name}", _entities(reg, name, as_of, code))],
                       className="panel") for name, spec in reg.entities.items()),
        *(flows.panel(reg, kpi, now, as_of, code, country.name, "countries")
          for kpi in flows.flow_kpis(reg)),
        html.Section([html.H2("Submissions"), _submissions(reg, code)], className="panel"),
    ])


def _kpis(reg, mine: pd.DataFrame, code: str, as_of: str) -> html.Div:
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("KPI", "Value", "Target", "Planned by now", "Status")]))
    rows = [html.Tr([
        html.Th([kpi.label, html.Span(f" ({kpi.unit})", className="muted")], scope="row"),
        html.Td(dcc.Link(ui.number(value), className="value-link",
                         href=f"/provenance{ui.query(kpi=kpi.id, country=code, as_of=as_of)}",
                         title="the rows behind this number") if not isinstance(value, str) else value,
                id=f"countries-value-{kpi.id}"),
        html.Td(ui.number(row["target"])), html.Td(ui.number(row["planned"])),
        html.Td(ui.status_badge(reg, row["status"]))])
        for kpi in reg.kpis for row in [mine[mine["id"] == kpi.id].iloc[0]]
        for value in [data.shown(kpi.id, row["value"], code, as_of)]]
    return html.Div(html.Table([head, html.Tbody(rows)], className="grid"),
                    className="table-scroll")


def _entities(reg, name: str, as_of: str, code: str) -> pd.DataFrame:
    spec = reg.entities[name]
    history = data.sheet_rows(spec.sheet, spec.status_field, as_of, code)
    table = tables.entity_table(history, reg, name, data.counted(name, as_of, code))
    return table.drop(columns=["country", "file_name", "version", "sheet", "cell", *reg.quarters])


def _submissions(reg, code: str) -> html.Div:
    """Each quarter's status, the coordination's decisions and the partners' notes (the cover's
    notes of the current versions, after the organisation's name where several report)."""
    _reg, subs, _reports = auth.scoped(reg, data.submissions())  # a partner's organisation's own
    matrix = tables.submission_matrix(data.submissions(), data.rejected(), reg, dt.date.today(),
                                      data.review_states(reg.quarters[-1]))
    mine = matrix[matrix["country"] == code]
    current = subs[(subs["country"] == code) & subs["current"].astype(bool) & subs["notes"].notna()]
    several = reg.per_partner(code)
    notes = {quarter: " · ".join(f"{p}: {n}" if several else str(n)
                                 for p, n in zip(rows["partner"], rows["notes"], strict=True))
             for quarter, rows in current.groupby("quarter")}
    frame = pd.DataFrame({"quarter": mine["quarter"], "due": mine["due"],
                          "submitted_on": mine["submitted_on"],
                          "status": [tables.status_text(r) for r in mine.to_dict("records")],
                          "partners_notes": [notes.get(q, "") for q in mine["quarter"]]})
    reported = [q for q, s in zip(mine["quarter"], mine["status"], strict=True) if s in ("on_time", "late")]
    history = [dcc.Link(q, href="/review" + ui.query(country=code, quarter=q)) for q in reported] \
        if auth.may_open("/review") else []
    return html.Div([ui.table("countries-submissions", frame),
                     html.P(["Versions, changes and decisions of a quarter: ",
                             *[part for link in history for part in (", ", link)][1:]],
                            id="countries-history") if history else None,
                     html.P(dcc.Link("All countries' submissions", href="/submissions"))])


ui.filters_in_url("countries", duplicate=True, kpi="countries-kpi", as_of="countries-as-of")
ui.filters_in_url("countries", duplicate=True, country="countries-country",
                  as_of="countries-country-as-of")


@callback(Output("countries-url", "search", allow_duplicate=True),
          Input("countries-map", "clickData"), State("countries-as-of", "value"),
          prevent_initial_call=True)
def _open_country(click: dict | None, as_of: str | None) -> str:
    """The clicked place's country; its page checks the code as it checks any URL."""
    points = click.get("points") if isinstance(click, dict) else None
    point = points[0] if isinstance(points, list) and points else None
    code = point.get("customdata") if isinstance(point, dict) else None
    if not isinstance(code, str):
        raise PreventUpdate
    return ui.query(country=code, as_of=as_of)

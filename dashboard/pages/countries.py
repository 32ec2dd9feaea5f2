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

from dashboard import auth, data, figures, flows, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry

dash.register_page(__name__, path="/countries", name="Countries", title="Countries", order=1,
                   access="partner")

ALL = "all"
# the words of its tables, in the reader's language: their columns and values
WORDS = (N_("Id"), N_("Counts toward"), N_("Submitted on"), N_("Partners notes"), N_("not collected"))


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
    title = (_("Worst status over all targets") if kpi == ALL else i18n.kpi(reg.kpi(kpi))) + f", {as_of}"
    options = [{"label": _("All targets (worst status)"), "value": ALL},
               *ui.kpi_options(reg, targeted_only=True)]
    note = (_("Each label: the country, its status's symbol and how many of its targets are on track or "
              "achieved, of those it has a share of. Click a place, or a country in the table, to open "
              "its page.") if kpi == ALL else
            _("Each label: the country, its status's symbol and its {unit}. Click a place, or a country "
              "in the table, to open its page.", unit=i18n.kpi(reg.kpi(kpi), "unit")))
    return html.Div([
        ui.page_head(_("Countries"),
                     ui.picker("countries-kpi", _("Status of"), options, kpi),
                     ui.picker("countries-as-of", _("As of quarter"), reg.quarters, as_of)),
        html.Section([ui.graph("countries-map", figures.country_map(statuses, reg, title),
                               "countries-map"),
                      html.P(note, className="muted", id="countries-map-note")], className="panel"),
        html.Section([html.H2(_("Status by country and target")),
                      _table(reg, now, targeted, as_of)], className="panel"),
    ])


def _table(reg, now: pd.DataFrame, targeted, as_of: str) -> html.Div:
    overall = tables.country_statuses(now, reg)
    shown = dict(zip(overall["country"], overall["status"], strict=True))
    head = html.Thead(html.Tr([html.Th(_("Country"), scope="col"), html.Th(_("Place"), scope="col"),
                               html.Th(_("Worst of all targets"), scope="col"),
                               *(html.Th(i18n.kpi(k), scope="col") for k in targeted)]))
    rows = []
    for c in reg.countries:
        mine = now[now["country"] == c.code].set_index("id")
        href = "/countries" + ui.query(country=c.code, as_of=as_of)
        rows.append(html.Tr([
            html.Th(dcc.Link(i18n.country(c.code), href=href), scope="row"),
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
    name = i18n.country(code).removesuffix(f" ({code})")  # in the reader's language
    return html.Div([
        ui.page_head(f"{i18n.country(code)} · {country.place}",
                     ui.picker("countries-country", _("Country"), ui.country_options(auth.scoped(reg)[0]),
                               code),
                     ui.picker("countries-country-as-of", _("As of quarter"), reg.quarters, as_of)),
        None if auth.scope() else html.P(dcc.Link(_("← all countries"),
                                                  href=f"/countries{ui.query(as_of=as_of)}")),
        html.Section([html.Dl([html.Dt(_("Partners")), html.Dd("; ".join(country.partners)),
                               *(part for fact in country.facts
                                 for part in (html.Dt(i18n.declared(fact.label)),
                                              html.Dd(i18n.declared(fact.text)))),
                               html.Dt(_("Language")), html.Dd(country.language)],
                              className="facts"),
                      _kpis(reg, now[now["country"] == code], code, as_of)], className="panel"),
        *(html.Section([html.H2(_("{sheet} (latest status as of {quarter})",
                                  sheet=reg.sheet(spec.sheet).label(i18n.lang()), quarter=as_of)),
                        ui.table(f"countries-{entity}", _entities(reg, entity, as_of, code),
                                 headings=_headings(reg, spec.sheet))],
                       className="panel") for entity, spec in reg.entities.items()),
        *(flows.panel(reg, kpi, now, as_of, code, name, "countries")
          for kpi in flows.flow_kpis(reg)),
        html.Section([html.H2(_("Submissions")), _submissions(reg, code)], className="panel"),
    ])


def _kpis(reg, mine: pd.DataFrame, code: str, as_of: str) -> html.Div:
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               (_("KPI"), _("Value"), _("Target"), _("Planned by now"), _("Status"))]))
    rows = [html.Tr([
        html.Th([i18n.kpi(kpi), html.Span(f" ({i18n.kpi(kpi, 'unit')})", className="muted")], scope="row"),
        html.Td(dcc.Link(ui.number(value), className="value-link",
                         href=f"/provenance{ui.query(kpi=kpi.id, country=code, as_of=as_of)}",
                         title=_("the rows behind this number")) if not isinstance(value, str)
                else ui.number(value),
                id=f"countries-value-{kpi.id}"),
        html.Td(ui.number(row["target"])), html.Td(ui.number(row["planned"])),
        html.Td(ui.status_badge(reg, row["status"]))])
        for kpi in reg.kpis for row in [mine[mine["id"] == kpi.id].iloc[0]]
        for value in [data.shown(kpi.id, row["value"], code, as_of)]]
    return html.Div(html.Table([head, html.Tbody(rows)], className="grid"),
                    className="table-scroll")


def _headings(reg, sheet: str) -> dict[str, str]:
    """The columns of an entity's table under its fields' labels in the reader's language (in
    English, as their ids say)."""
    return {} if i18n.lang() == i18n.DEFAULT else tables.field_headings(reg, [sheet])


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
                     html.P([_("Versions, changes and decisions of a quarter:") + " ",
                             *[part for link in history for part in (", ", link)][1:]],
                            id="countries-history") if history else None,
                     html.P(dcc.Link(_("All countries' submissions"), href="/submissions"))])


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

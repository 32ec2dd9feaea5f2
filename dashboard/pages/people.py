"""People: the project's flow KPIs (participations, people reached, ...), each with what is counted
within it, its breakdowns and its categories, kept apart and never added; then unique participants
from the participant registers where the project keeps them. /people?country=BG&as_of=2023-Q4.

Everything shown is the declaration's: a KPI's value comes from the KPIs and links to its rows.
Person counts from 1 to 4 in breakdowns are shown as "<5".
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, flows, i18n, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry
from pipelines.marts import people

dash.register_page(__name__, path="/people", name="People", title="People", order=4)

# the words of its tables, in the reader's language: their columns and values
WORDS = (N_("Participations (a person once per activity)"), N_("Unique participants in the quarter"),
         N_("Counted for the first time"), N_("Unique participants, cumulative"),
         N_("Participations (register, a person once per activity)"),
         N_("Unique participants (people, each person once)"), N_("not collected"))
TOTAL = "Total"  # the last row of people.by_country


def layout(country: str | None = None, as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    country = args.pick(country, [c.code for c in reg.countries], "country")
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    where = i18n.country(country) if country else _("all countries")
    now = data.kpis_at(as_of)
    sections = [flows.panel(reg, kpi, now, as_of, country, where, "people")
                for kpi in flows.flow_kpis(reg)]
    unique = next((k for k in reg.kpis if k.source.register_count == "unique_participants"), None)
    if reg.participant_register and unique:
        sections.append(_registers(data.people_counts(as_of, country), reg, unique, now, country,
                                   where, as_of))
    if not sections:
        sections = [html.Section(html.P(_("This project's declaration has no KPI that sums figures of "
                                          "people or counts participants: nothing to show here.")),
                                 className="panel")]
    return html.Div([
        dcc.Location(id="people-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(_("People"),
                     ui.picker("people-country", _("Country"), ui.country_options(reg), country,
                               clearable=True, placeholder=_("All countries")),
                     ui.picker("people-as-of", _("Up to quarter"), reg.quarters, as_of)),
        html.P(_("Each figure counts one thing, named beside it; figures of different KPIs are never "
                 "added together."), className="muted"),
        *sections,
    ])


def _registers(counts: dict[str, pd.DataFrame], reg, kpi, now: pd.DataFrame, country: str | None,
               where: str, as_of: str) -> html.Section:
    """Participations and unique participants from the registers: per quarter, by the register's
    breakdowns and per country, each column saying which count it is."""
    quarters = counts["quarters"].rename(columns={
        "participations": "participations (a person once per activity)",
        "unique_in_quarter": "unique participants in the quarter",
        "new": "counted for the first time",
        "unique_cumulative": "unique participants, cumulative"})
    spec = reg.participant_register.sheet
    rows, columns = people.breakdowns(reg)
    names = {f: reg.code_lists[spec.field(f).choices] for f in (rows, columns) if f}
    lang = i18n.lang()
    grid = counts["sex_age"].rename(
        index=lambda c: i18n.declared(names[rows][c]),
        columns=lambda c: i18n.declared(names[columns][c]) if columns else c).reset_index()
    grid = grid.rename(columns={rows: spec.field(rows).label(lang)})
    kept = data.collected(as_of)
    countries = flows.suppressed(counts["countries"]).rename(columns={
        "participations": "participations (register, a person once per activity)",
        "unique_participants": "unique participants (people, each person once)"})
    known = countries["country"].isin([*kept, TOTAL])
    missing = i18n.word(people.NOT_COLLECTED)
    countries = countries.assign(**{c: countries[c].astype(object).where(known, missing)
                                    for c in countries.columns[1:]})
    countries["country"] = countries["country"].replace(TOTAL, _("Total"))
    value = data.shown(kpi.id, flows.kpi_value(now, kpi.id, country), country, as_of)
    value = missing if value == people.NOT_COLLECTED else value
    by = [i18n.inline(spec.field(f).label(lang)) for f in (rows, columns) if f]
    by = _("{some} and {last}", some=", ".join(by[:-1]), last=by[-1]) if len(by) > 1 else "".join(by)
    heading = _("{kpi} from the registers, {where}, up to {quarter}", kpi=i18n.kpi(kpi), where=where,
                quarter=as_of)
    counted = _("{kpi} ({unit}, each person once)", kpi=i18n.kpi(kpi), unit=i18n.kpi(kpi, "unit"))
    if country and country not in kept:
        return html.Section([
            html.H2(heading),
            html.Dl([html.Dt(counted), html.Dd(value, id="people-value-" + kpi.id)], className="facts"),
            html.P(_("{where} kept no participant register up to {quarter}: its unique participants "
                     "were not counted (which is not zero people).", where=where, quarter=as_of),
                   className="muted")], className="panel")
    return html.Section([
        html.H2(heading),
        html.Dl([html.Dt(counted),
                 html.Dd(flows.value_link("people-value-" + kpi.id, value, kpi, country, as_of))],
                className="facts"),
        html.P(_("Partners who keep a participant register send one row per participation with a "
                 "participant code, stored only as a keyed hash. A participation is a person in an "
                 "activity; a unique participant is a person counted once, however many activities "
                 "and quarters. Only quarters with a register count here; countries without one "
                 "show \"not collected\"."), className="muted"),
        ui.table("people-register-quarters", flows.suppressed(quarters), pinned=("quarter",)),
        html.H3(_("Unique participants by {breakdowns} (people, each person once, as last recorded)",
                  breakdowns=by)),
        ui.table("people-register-breakdown", flows.suppressed(grid), pinned=(grid.columns[0],)),
        html.H3(_("Per country")),
        ui.table("people-register-countries", countries, pinned=("country",)),
    ], className="panel")


ui.filters_in_url("people", country="people-country", as_of="people-as-of")

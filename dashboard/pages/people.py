"""People: participations in activities by sex, by age bracket and by activity type, and indirect
outreach by channel — kept apart, never added. /people?country=BG&as_of=2023-Q4.

Participations (a person in two activities counts twice) come from the Activities sheets;
unique participants (each person once, per quarter and cumulatively) from the participant
registers, where partners keep them. Person counts from 1 to 4 in breakdowns are shown as "<5".
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, figures, tables, ui
from pipelines.declaration import registry

dash.register_page(__name__, path="/people", name="People", title="People", order=4)


def layout(country: str | None = None, as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    country = args.pick(country, [c.code for c in reg.countries], "country")
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    activities = data.sheet_rows("activities", "participants_total", as_of, country)
    outreach = data.sheet_rows("outreach", "migrants_reached", as_of, country)
    channels = tables.by_channel(outreach, reg)
    registers = data.people_counts(as_of, country)
    where = reg.country(country).name if country else "all countries"
    return html.Div([
        dcc.Location(id="people-url", refresh="callback-nav"), *args.notes(),
        ui.page_head("People",
                     ui.picker("people-country", "Country", ui.country_options(reg), country,
                               clearable=True, placeholder="All countries"),
                     ui.picker("people-as-of", "Up to quarter", reg.quarters, as_of)),
        html.Section([
            html.H2(f"Direct participants, {where}, up to {as_of}"),
            html.Dl([
                html.Dt("Participations (sum over activities)"),
                html.Dd(_linked("people-participations", activities["participants_total"].sum(),
                                "direct_participants", country, as_of)),
                html.Dt("Unique participants (each person once, from the registers)"),
                html.Dd(_linked("people-unique", registers["quarters"]["new"].sum(),
                                "unique_participants", country, as_of)),
                html.Dt("of which third-country nationals"),
                html.Dd(ui.number(activities["third_country_nationals"].sum())),
                html.Dt("found the activity helpful (AMIF result 9)"),
                html.Dd(ui.number(activities["reported_helpful"].sum())),
            ], className="facts"),
            html.P("A person who attends two activities counts twice in participations.",
                   className="muted"),
            ui.graph("people-pyramid", figures.participations(tables.breakdown(activities, reg)),
                     "participations-sex-age"),
            html.P("The workbooks report participants by sex and by age bracket separately, so "
                   "the two are shown side by side, not crossed. Counts from 1 to 4 are shown as "
                   "“<5”.", className="muted"),
            ui.table("people-activity-types", _suppressed(tables.by_activity_type(activities,
                                                                                  reg))),
        ], className="panel"),
        _registers(registers, reg, where, as_of),
        html.Section([
            html.H2(f"Indirect outreach, {where}, up to {as_of}"),
            html.P(["Migrants reached: ", _linked("people-reached", outreach["migrants_reached"].sum(),
                                                  "migrants_reached", country, as_of),
                    " — estimates, each with its channel and estimation method; never added to "
                    "participations."], className="lead"),
            ui.graph("people-outreach", figures.outreach_by_channel(channels), "outreach-channels"),
            ui.table("people-channels", _suppressed(channels)),
        ], className="panel"),
    ])


def _registers(counts: dict[str, pd.DataFrame], reg, where: str, as_of: str) -> html.Section:
    """Participations and unique participants from the registers: per quarter, by sex x age
    bracket and per country, each column saying which count it is."""
    quarters = counts["quarters"].rename(columns={
        "participations": "participations (a person once per activity)",
        "unique_in_quarter": "unique participants in the quarter",
        "new": "counted for the first time",
        "unique_cumulative": "unique participants, cumulative"})
    labels = {n: reg.code_lists[n] for n in ("sex", "age_bracket")}
    grid = counts["sex_age"].rename(index=lambda c: labels["sex"][c]["en"],
                                    columns=lambda c: labels["age_bracket"][c]["en"]).reset_index()
    countries = counts["countries"].rename(columns={
        "participations": "participations (register)", "unique_participants": "unique participants"})
    return html.Section([
        html.H2(f"Unique participants from the registers, {where}, up to {as_of}"),
        html.P("Partners who keep a participant register send one row per participation with a "
               "participant code, stored only as a keyed hash. A participation is a person in an "
               "activity; a unique participant is a person counted once, however many activities "
               "and quarters. Only quarters with a register count here.", className="muted"),
        ui.table("people-register-quarters", _suppressed(quarters)),
        html.H3("Unique participants by sex and age bracket (each person once, as last recorded)"),
        ui.table("people-register-sex-age", _suppressed(grid)),
        html.H3("Per country"),
        ui.table("people-register-countries", _suppressed(countries)),
    ], className="panel")


def _linked(id: str, value: float, kpi: str, country: str | None, as_of: str) -> dcc.Link:
    return dcc.Link(ui.number(value), id=id, className="value-link",
                    href=f"/provenance{ui.query(kpi=kpi, country=country, as_of=as_of)}")


def _suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Person counts of a breakdown with counts from 1 to 4 shown as "<5"."""
    counts = [c for c in frame.columns[1:] if c not in ("activities", "lines", "estimation method")]
    return frame.assign(**{c: [tables.persons(v) for v in frame[c]] for c in counts})


ui.filters_in_url("people", country="people-country", as_of="people-as-of")

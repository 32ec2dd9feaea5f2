"""Trends: will we make it by the end date? Each KPI by quarter against its planned trajectory,
projected to the project's end (pipelines/marts/projection.py: one-off figures added as reported,
the recurring rest at its recent pace), with how far such projections were off on this project's
own quarters, and per country.

/trends?kpi=migrants_reached&as_of=2023-Q1 (as_of: the quarter the projection is made as of;
default the latest; kpi: default the largest target).
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, figures, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry
from pipelines.marts import people, projection

dash.register_page(__name__, path="/trends", name="Trends", title="Trends", order=2)

# the words of its tables, in the reader's language: their columns and values
WORDS = (N_("Quarters ahead"), N_("Projections checked"), N_("Off by on average"), N_("Fell short"),
         N_("not collected"))


def layout(kpi: str | None = None, as_of: str | None = None, **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    largest = max(reg.kpis, key=lambda k: k.target or 0)
    chosen = reg.kpi(args.pick(kpi, [k.id for k in reg.kpis], "KPI", largest.id))
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    series = data.kpi_series(as_of)
    mine = series[series["id"] == chosen.id]
    now = mine[mine["country"].isna()].sort_values("quarter").iloc[-1]
    countries = _collected_only(mine, chosen)
    value = dcc.Link(ui.number(now["value"]), id="trends-value", className="value-link",
                     href=f"/provenance{ui.query(kpi=chosen.id, as_of=as_of)}")
    said = {"quarter": as_of, "unit": i18n.kpi(chosen, "unit"), "target": ui.number(now["target"]),
            "planned": ui.number(now["planned"])}
    # the sentence in the reader's word order, the value (a link) where it puts it
    before, _value, after = (_("As of {quarter}: {value} {unit} of {target} (planned by now {planned})")
                             if chosen.target is not None else
                             _("As of {quarter}: {value} {unit} (no target)")).partition("{value}")
    return html.Div([
        dcc.Location(id="trends-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(_("Trends"),
                     ui.picker("trends-kpi", _("KPI"), ui.kpi_options(reg), chosen.id),
                     ui.picker("trends-as-of", _("Projection made as of"), reg.quarters, as_of)),
        html.Section([
            html.H2(i18n.kpi(chosen)),
            html.P([before.format(**said), value, after.format(**said),
                    *([" ", ui.status_badge(reg, now["status"])] if chosen.target is not None else [])],
                   className="lead"),
            *_projected(reg, chosen, series, as_of, latest, now),
        ], className="panel"),
        html.Section([
            html.H2(_("By country")),
            ui.graph("trends-countries", figures.trend_by_country(countries, reg, chosen.id),
                     f"trend-{chosen.id}-countries"),
            ui.table("trends-table", _by_country(countries, reg), pinned=("country", as_of)),
        ], className="panel"),
    ])


def _projected(reg, kpi, series: pd.DataFrame, as_of: str, latest: str, now: pd.Series) -> list:
    """The outlook, the chart, how the projection is made and how far such projections were off
    (the backtest, on every quarter reported up to the latest); at the project's last quarter,
    the final position instead."""
    upto = max(as_of, latest)
    values, offs = projection.cumulative(data.kpi_series(upto), data.one_offs(kpi.id, upto), reg,
                                         kpi.id, upto)
    known = reg.quarters.index(latest) + 1
    horizons = projection.by_horizon(projection.backtest(values[:known], offs[:known], kpi.measure))
    at = reg.quarters.index(as_of) + 1
    remaining = reg.quarters[at:]
    projected = projection.project(values[:at], offs[:at], remaining, kpi.measure,
                                   dict(zip(horizons["ahead"], horizons["mean_error"], strict=True)))
    unit = i18n.kpi(kpi, "unit")
    if not remaining:
        said = [html.P(tables.final_position(now["value"], kpi.target, unit, as_of), id="trends-outlook")]
    elif projected.empty:
        said = [html.P(_("No projection yet: it needs two quarters."), id="trends-outlook")]
    else:
        said = [html.P(tables.outlook(projected, kpi.target, unit), id="trends-outlook"),
                html.P(tables.backtest_note(horizons, len(remaining), latest), id="trends-backtest-note")]
    chart = ui.graph("trends-chart", figures.trend(series, reg, kpi.id, as_of, projected), f"trend-{kpi.id}")
    method = html.P(tables.projection_method(reg, kpi, offs[at - 1], as_of), className="muted",
                    id="trends-method")
    return [*said, chart, method, *_backtest(horizons, latest)]


def _backtest(horizons: pd.DataFrame, latest: str) -> list:
    """The backtest by quarters ahead, where there is one."""
    if horizons.empty:
        return []
    shown = pd.DataFrame({
        "quarters_ahead": horizons["ahead"], "projections_checked": horizons["projections"],
        "off_by_on_average": [f"{i18n.number(e, digits=1)}%" for e in horizons["mean_error"]],
        "fell_short": [f"{i18n.number(s)}%" for s in horizons["short"]]})
    return [html.H3(_("How far projections were off, checked up to {quarter}", quarter=latest)),
            html.P(_("Each quarter's projection of the whole project, made with the figures known then, "
                     "against what was reported in each later quarter."), className="muted"),
            ui.table("trends-backtest", shown)]


def _collected_only(mine: pd.DataFrame, kpi) -> pd.DataFrame:
    """A KPI's values by country and quarter, without the quarters a count of the registers was
    not collected in a country (none of its registers up to then): not 0 but a gap."""
    if not kpi.source.register_count:
        return mine
    kept = [c is None or c != c or c in data.collected(q) for c, q in zip(mine["country"], mine["quarter"],
                                                                            strict=True)]
    return mine.assign(value=mine["value"].where(kept))


def _by_country(mine: pd.DataFrame, reg) -> pd.DataFrame:
    """Countries x quarters of one KPI, the whole project last; "not collected" for a gap."""
    whole = _("all")  # the whole project's row
    frame = mine.assign(country=mine["country"].fillna(whole)).pivot_table(
        index="country", columns="quarter", values="value", aggfunc="first", dropna=False)
    order = [c.code for c in reg.countries] + [whole]
    frame = frame.reindex(order).rename_axis(None, axis=1)
    if frame.isna().to_numpy().any():
        frame = frame.astype(object).where(frame.notna(), i18n.word(people.NOT_COLLECTED))
    return frame.reset_index()


ui.filters_in_url("trends", kpi="trends-kpi", as_of="trends-as-of")

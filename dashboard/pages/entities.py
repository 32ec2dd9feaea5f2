"""Councils and authorities: every entity as one sortable, filterable table — its latest status,
date and evidence, the KPIs it counts toward, the cell its status was read from, and its status in
each quarter. /entities?kind=council&country=BG&as_of=2023-Q4.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, tables, ui
from pipelines.declaration import registry


def _kinds() -> list[str]:
    """The entity kinds' sheet names, as the declaration labels them (e.g. Councils, Authorities)."""
    reg = registry.get()
    return [reg.sheet(e.sheet).label("en") for e in reg.entities.values()]


dash.register_page(__name__, path="/entities", name=" & ".join(_kinds()) or "Entities",
                   title=" and ".join(_kinds()) or "Entities", order=3)


def layout(kind: str | None = None, country: str | None = None, as_of: str | None = None,
           **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    kind = args.pick(kind, list(reg.entities), "kind of entity")
    country = args.pick(country, [c.code for c in reg.countries], "country")
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    frames = []
    for name, spec in reg.entities.items():
        if kind in (None, name):
            history = data.sheet_rows(spec.sheet, spec.status_field, as_of, country)
            table = tables.entity_table(history, reg, name, data.counted(name, as_of, country))
            frames.append(table.assign(kind=name))
    frame = _key_columns_first(pd.concat(frames, ignore_index=True), reg)
    kinds = [{"label": reg.sheet(s.sheet).label("en"), "value": n} for n, s in reg.entities.items()]
    return html.Div([
        dcc.Location(id="entities-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(" and ".join(_kinds()) or "Entities",
                     ui.picker("entities-kind", "Show", kinds, kind, clearable=True,
                               placeholder=" and ".join(_kinds()) or "Entities"),
                     ui.picker("entities-country", "Country", ui.country_options(reg), country,
                               clearable=True, placeholder="All countries"),
                     ui.picker("entities-as-of", "As of quarter", reg.quarters, as_of)),
        html.Section([_counts(reg, kind, country, as_of),
                      html.P("An entity counts once, by its status in the latest quarter that "
                             "reports it. Status by quarter names each change with its quarter; "
                             "a column per quarter follows (blank: not reported). The source is "
                             "the sheet and cell of its latest status.", className="muted"),
                      ui.table("entities-table", frame, pinned=("id",), wrap=_long(frame))],
                     className="panel"),
    ])


def _key_columns_first(frame: pd.DataFrame, reg) -> pd.DataFrame:
    """What the page answers first (each entity's status, its status by quarter, the cell it was
    read from), then the rest of its report and a column per quarter."""
    frame = frame.assign(
        status_by_quarter=[tables.status_history(list(row), reg.quarters)
                           for row in frame[reg.quarters].itertuples(index=False)],
        status_cell=[f"{sheet}!{cell}" for sheet, cell in zip(frame["sheet"], frame["cell"], strict=True)])
    statuses = {e.status_field for e in reg.entities.values()}
    lead = [c for c in ["id", "name", "kind", "country", *sorted(statuses), "status_by_quarter",
                        "status_cell", "file_name", "version", "counts_toward"] if c in frame.columns]
    return frame[[*lead, *(c for c in frame.columns if c not in lead and c not in ("sheet", "cell"))]]


def _long(frame: pd.DataFrame) -> tuple[str, ...]:
    """The columns of long text (names, histories, evidence), wrapped so that the others stay in view."""
    return tuple(c for c in frame.columns if frame[c].map(lambda v: len(str(v))).max() > 24)


def _counts(reg, kind: str | None, country: str | None, as_of: str) -> html.Ul:
    """The stock KPIs these entities make, each linked to the rows behind it."""
    now = data.kpis_at(as_of)
    now = now[now["country"].isna() if country is None else now["country"] == country]
    items = []
    for kpi in (k for k in reg.kpis if k.source.entity and kind in (None, k.source.entity)):
        row = now[now["id"] == kpi.id].iloc[0]
        items.append(html.Li([f"{kpi.label}: ", dcc.Link(
            ui.number(row["value"]), id=f"entities-count-{kpi.id}", className="value-link",
            href=f"/provenance{ui.query(kpi=kpi.id, country=country, as_of=as_of)}"),
            f" of {ui.number(row['target'])} ", ui.status_badge(reg, row["status"])]))
    return html.Ul(items, className="counts")


ui.filters_in_url("entities", kind="entities-kind", country="entities-country",
                   as_of="entities-as-of")

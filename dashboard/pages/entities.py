"""Councils and authorities: every entity as one sortable, filterable table — its latest status,
date and evidence, the KPIs it counts toward, the cell its status was read from, and its status in
each quarter. /entities?kind=council&country=BG&as_of=2023-Q4.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import data, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry


def _kinds(lang: str = i18n.DEFAULT) -> list[str]:
    """The entity kinds' sheet names, as the declaration labels them (e.g. Councils, Authorities)."""
    reg = registry.get()
    return [reg.sheet(e.sheet).label(lang) for e in reg.entities.values()]


dash.register_page(__name__, path="/entities", name=" & ".join(_kinds()) or "Entities",
                   title=" and ".join(_kinds()) or "Entities", order=3)

# the words of its table, in the reader's language: the columns that are not a sheet's fields
WORDS = (N_("Id"), N_("Name"), N_("Kind"), N_("Status by quarter"), N_("Status cell"), N_("Counts toward"))


def _title() -> str:
    """The entity kinds in the reader's language: "Councils and Authorities"; the kinds after
    the first in lower case where titles are written so ("Съвети и институции"), not in English
    titles nor German nouns."""
    lang = i18n.lang()
    kinds = _kinds(lang)
    kinds = kinds[:1] + [k if lang in (i18n.DEFAULT, "de") else k.lower() for k in kinds[1:]]
    if len(kinds) > 1:
        return _("{some} and {last}", some=", ".join(kinds[:-1]), last=kinds[-1])
    return kinds[0] if kinds else _("Entities")


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
    frames, shown = [], []  # the tables and the sheets they come from
    for name, spec in reg.entities.items():
        if kind in (None, name):
            shown.append(spec.sheet)
            history = data.sheet_rows(spec.sheet, spec.status_field, as_of, country)
            table = tables.entity_table(history, reg, name, data.counted(name, as_of, country))
            frames.append(table.assign(kind=name))
    frame = _key_columns_first(pd.concat(frames, ignore_index=True), reg)
    lang = i18n.lang()
    kinds = [{"label": reg.sheet(s.sheet).label(lang), "value": n} for n, s in reg.entities.items()]
    frame = frame.assign(kind=frame["kind"].map({o["value"]: o["label"] for o in kinds}))
    title = _title()
    return html.Div([
        dcc.Location(id="entities-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(title,
                     ui.picker("entities-kind", _("Show"), kinds, kind, clearable=True, placeholder=title),
                     ui.picker("entities-country", _("Country"), ui.country_options(reg), country,
                               clearable=True, placeholder=_("All countries")),
                     ui.picker("entities-as-of", _("As of quarter"), reg.quarters, as_of)),
        html.Section([_counts(reg, kind, country, as_of),
                      html.P(_("An entity counts once, by its status in the latest quarter that "
                               "reports it. Status by quarter names each change with its quarter; "
                               "a column per quarter follows (blank: not reported). The source is "
                               "the sheet and cell of its latest status."), className="muted"),
                      ui.table("entities-table", frame, pinned=("id",), wrap=_long(frame),
                               headings=tables.field_headings(reg, shown))],
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
        said = {"kpi": i18n.kpi(kpi), "target": ui.number(row["target"])}
        # the sentence in the reader's word order, the value (a link) where it puts it
        before, _value, after = _("{kpi}: {value} of {target}").partition("{value}")
        items.append(html.Li([before.format(**said), dcc.Link(
            ui.number(row["value"]), id=f"entities-count-{kpi.id}", className="value-link",
            href=f"/provenance{ui.query(kpi=kpi.id, country=country, as_of=as_of)}"),
            after.format(**said), " ", ui.status_badge(reg, row["status"])]))
    return html.Ul(items, className="counts")


ui.filters_in_url("entities", kind="entities-kind", country="entities-country",
                   as_of="entities-as-of")

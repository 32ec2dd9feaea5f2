"""The panels of a flow KPI (people reached, participations, ...), built from its declaration: its
value from the KPIs, linked to its rows; the fields counted within it; its breakdowns; and its
figures per category of its disaggregations. Used by the People page and a country's page."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from dashboard import data, figures, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration.registry import Kpi, Registry

# the words of its tables, in the reader's language: their columns
WORDS = (N_("Rows"),)


def flow_kpis(registry: Registry) -> list[Kpi]:
    return [k for k in registry.kpis if k.source.sheet]


def value_link(id: str, value: float, kpi: Kpi, country: str | None, as_of: str) -> dcc.Link:
    return dcc.Link(ui.number(value), id=id, className="value-link", title=_("the rows behind this number"),
                    href=f"/provenance{ui.query(kpi=kpi.id, country=country, as_of=as_of)}")


def kpi_value(now: pd.DataFrame, kpi_id: str, country: str | None) -> float:
    """A KPI's value in a frame of kpis.compute, for a country or (None) the whole project."""
    mine = now[(now["id"] == kpi_id) & (now["country"].isna() if country is None
                                         else now["country"] == country)]
    return mine["value"].sum()


def suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Person counts of a breakdown with counts from 1 to 4 shown as "<5" (not the rows)."""
    counts = [c for c in frame.columns if c != "rows" and pd.api.types.is_numeric_dtype(frame[c])]
    return frame.assign(**{c: [tables.persons(v) for v in frame[c]] for c in counts})


def panel(registry: Registry, kpi: Kpi, now: pd.DataFrame, as_of: str, country: str | None,
          where: str, prefix: str) -> html.Section:
    """A flow KPI's section: its value as of the quarter, what is counted within it, its
    breakdowns and its categories, each saying what it counts."""
    rows = data.sheet_rows(kpi.source.sheet, kpi.source.value, as_of, country)
    value = kpi_value(now, kpi.id, country)
    sheet = registry.sheet(kpi.source.sheet)
    facts = [html.Dt(tables.counted_as(kpi)),
             html.Dd(value_link(f"{prefix}-value-{kpi.id}", value, kpi, country, as_of))]
    lang, unit = i18n.lang(), i18n.kpi(kpi, "unit")
    for field in tables.within(registry, kpi):
        facts += [html.Dt(_("of these {unit}: {field}", unit=unit,
                            field=i18n.inline(sheet.field(field).label(lang)))),
                  html.Dd(ui.number(rows[field].sum() if len(rows) else 0),
                          id=f"{prefix}-{kpi.id}-{field}")]
    parts = tables.breakdown(rows, registry, kpi)
    categories = tables.by_category(rows, registry, kpi)
    body = [html.H2(_("{kpi}, {where}, up to {quarter}", kpi=i18n.kpi(kpi), where=where, quarter=as_of)),
            html.Dl(facts, className="facts"), html.P(i18n.kpi(kpi, "description"), className="muted")]
    if len(parts):
        body += [ui.graph(f"{prefix}-{kpi.id}-breakdown", figures.breakdown(parts),
                          f"{kpi.id}-breakdown"),
                 html.P(_("Each breakdown is reported separately, not crossed. Counts from 1 to 4 "
                          "are shown as “<5”."), className="muted")]
    if len(categories.columns) > 2 and categories.columns[0] != "rows":
        body += [ui.graph(f"{prefix}-{kpi.id}-categories",
                          figures.by_category(categories, tables.counted_as(kpi), unit),
                          f"{kpi.id}-categories"),
                 ui.table(f"{prefix}-{kpi.id}-table", suppressed(categories), wrap=(categories.columns[0],))]
    return html.Section(body, className="panel", id=f"{prefix}-{kpi.id}")

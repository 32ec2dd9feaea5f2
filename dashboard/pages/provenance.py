"""Provenance: the rows behind a KPI value, each with its file, version, sheet, cell and upload.

/provenance?kpi=migrants_reached&country=GR&as_of=2023-Q2 (no country: the whole project). The
overview's cards and grid cells link here. The rows come from pipelines/marts/provenance.py.
A partner sees the rows of their own country only, whatever the URL asks (checked on the server).
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, data, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry

dash.register_page(__name__, path="/provenance", name="Provenance", title="Provenance", order=8,
                   access="partner")

# where a number comes from first (the row, its value, the file, sheet and cell, who uploaded it),
# then the organisation and the partner's note, wrapped
SHOWN = {"country": "country", "quarter": "quarter", "record": "row id", "value": "value", "counts": "adds",
         "file_name": "file", "version": "version", "sheet": "sheet", "cell": "cell",
         "uploaded_by": "uploaded by", "uploaded_at": "uploaded at", "organisation": "organisation",
         "notes": "partner's note"}
# their headings (ui.header) and the words of its values, in the reader's language
WORDS = (N_("Country"), N_("Quarter"), N_("Row id"), N_("Value"), N_("Adds"), N_("File"), N_("Version"),
         N_("Sheet"), N_("Cell"), N_("Uploaded by"), N_("Uploaded at"), N_("Organisation"),
         N_("Partner's note"), N_("not recorded"))
STOCK = N_("entities whose latest status qualifies (each counts once)")
FLOW = N_("summed rows of the current versions")


def layout(kpi: str | None = None, country: str | None = None, as_of: str | None = None,
           **_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    args = ui.Arguments()
    chosen = reg.kpi(args.pick(kpi, [k.id for k in reg.kpis], "KPI", reg.kpis[0].id))
    country = auth.scope() or args.pick(country, [c.code for c in reg.countries], "country")
    as_of = args.pick(as_of, reg.quarters, "quarter", latest)
    rows = data.kpi_rows(chosen.id, as_of, country)
    now = data.kpis_at(as_of)
    truth = now[(now["id"] == chosen.id) & (now["country"].isna() if country is None
                                            else now["country"] == country)].iloc[0]
    return html.Div([
        dcc.Location(id="provenance-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(
            _("Where a number comes from"),
            ui.picker("provenance-kpi", _("KPI"), ui.kpi_options(reg), chosen.id),
            ui.picker("provenance-country", _("Country"), ui.country_options(auth.scoped(reg)[0]), country,
                      clearable=not auth.scope(), placeholder=_("Whole project")),
            ui.picker("provenance-as-of", _("As of quarter"), reg.quarters, as_of)),
        html.Section([
            html.P([html.Strong(_("{kpi}, {where}, as of {quarter}:", kpi=i18n.kpi(chosen), quarter=as_of,
                                  where=i18n.country(country).removesuffix(f" ({country})") if country
                                  else _("whole project")) + " "),
                    html.Span(ui.number(data.shown(chosen.id, truth["value"], country, as_of)),
                              id="provenance-value"), f" {i18n.kpi(chosen, 'unit')}"],
                   className="lead"),
            _adds_up(rows, truth["value"], chosen.measure),
            html.P([_("Counting rule:") + " ", i18n.kpi(chosen, "counting_rule")], className="muted"),
            html.P(dcc.Link(_("The versions and decisions of {country} {quarter}", country=country,
                              quarter=as_of),
                            href="/review" + ui.query(country=country, quarter=as_of)),
                   id="provenance-history") if country and auth.may_open("/review") else None,
        ], className="panel"),
        html.Section([html.H2(_("The rows behind it")),
                      ui.table("provenance-rows", _shown(rows, reg, chosen),
                               wrap=("file", "organisation", "partner's note"))], className="panel"),
    ])


def _adds_up(rows: pd.DataFrame, value: float, measure: str) -> html.P:
    total = rows["counts"].sum()
    files = rows["file_name"].nunique()
    said = {"rows": i18n.number(len(rows)), "what": i18n.word(STOCK if measure == "stock" else FLOW),
            "files": i18n.number(files), "total": i18n.number(total)}
    ok = total == value
    return html.P([html.Span("✔ " if ok else "✖ ", **{"aria-hidden": "true"}),
                   _("{rows} {what}, from {files} file(s), add up to {total}.", **said) if ok else
                   _("{rows} {what}, from {files} file(s), add up to {total}, not {value}: please report "
                     "this.", value=i18n.number(value), **said)],
                  id="provenance-check", className="ok" if ok else "warn")


def _shown(rows: pd.DataFrame, reg, kpi) -> pd.DataFrame:
    """The rows as listed: a stock's value is its status, shown by its label in the reader's language."""
    frame = rows[list(SHOWN)].rename(columns=SHOWN)
    if kpi.source.entity:
        spec = reg.entities[kpi.source.entity]
        codes = reg.sheet(spec.sheet).field(spec.status_field).choices
        frame["value"] = [tables.label(reg, codes, v) for v in frame["value"]]
    frame["uploaded by"] = frame["uploaded by"].fillna(_("not recorded"))
    return frame


ui.filters_in_url("provenance", kpi="provenance-kpi", country="provenance-country",
                   as_of="provenance-as-of")

"""Data quality: which figures are doubtful? Findings by country and quarter — the warnings kept
with accepted workbooks and the errors that got files rejected — and the list of refused uploads
with their senders. Open items by default: a warning of a superseded version and the errors of a
file corrected since are closed, listed with ?show=all.
/quality?country=AT&quarter=2023-Q3 lists the findings of one country and quarter.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboard import auth, data, tables, ui
from pipelines.declaration import registry

dash.register_page(__name__, path="/quality", name="Data quality", title="Data quality", order=6,
                   access="partner")

WARNING, ERROR = "▲", "✖"


SHOW = {"open": "Open items", "all": "All, closed too"}


def layout(country: str | None = None, quarter: str | None = None, show: str | None = None,
           **_query) -> html.Div:
    if data.latest_quarter() is None:
        return ui.no_data()
    reg, warnings, rejected = auth.scoped(registry.get(), data.findings(), data.rejected())  # a partner's own
    args = ui.Arguments()
    country = args.pick(country, [c.code for c in reg.countries], "country")
    quarter = args.pick(quarter, reg.quarters, "quarter")
    show = args.pick(show, list(SHOW), "show", "open")
    found = tables.all_findings(warnings, rejected, data.submissions())
    if show == "open":
        found = found[found["state"] == "open"]
    counts = tables.findings_matrix(found, reg).set_index(["country", "quarter"])
    shown = tables.only(found, country=country, quarter=quarter)
    warnings = tables.only(found, severity="warning", outcome="accepted")
    errors = tables.only(found, severity="error")
    return html.Div([
        dcc.Location(id="quality-url", refresh="callback-nav"), *args.notes(),
        ui.page_head("Data quality",
                     ui.picker("quality-country", "Country", ui.country_options(reg), country,
                               clearable=True, placeholder="All countries"),
                     ui.picker("quality-quarter", "Quarter", reg.quarters, quarter,
                               clearable=True, placeholder="All quarters"),
                     ui.picker("quality-show", "Show", [{"label": v, "value": k} for k, v in SHOW.items()],
                               show)),
        html.Section([
            html.P([f"{WARNING} {len(warnings):,} {'open ' if show == 'open' else ''}warning(s) in "
                    f"{warnings['file_name'].nunique()} accepted file(s); "
                    f"{ERROR} {len(errors):,} error(s) in {errors['file_name'].nunique()} "
                    "rejected file(s)" + (" not corrected since." if show == "open" else "."),
                    ], className="lead", id="quality-summary"),
            html.P("Warnings let a workbook in and flag a figure to check; errors reject the file "
                   "until the partner sends a corrected one.", className="muted"),
            ui.matrix("quality-matrix", reg, lambda c, q: _cell(counts.loc[(c, q)], c, q)),
        ], className="panel"),
        html.Section([
            html.H2("Findings" + "".join(f", {x}" for x in (country, quarter) if x)),
            ui.table("quality-findings", shown, pinned=("country",)),
        ], className="panel"),
        html.Section([
            html.H2("Refused uploads"),
            html.P("Every file that was refused, with who sent it: a file an account sent for a "
                   "country it does not report for is listed here only, never on that country's "
                   "pages.", className="muted"),
            ui.table("quality-refused", tables.refused_uploads(rejected), pinned=("rejected_at",)),
        ], className="panel"),
    ])


def _cell(row, country: str, quarter: str) -> html.Td:
    parts = ([f"{WARNING} {row['warnings']} warning(s)"] if row["warnings"] else []) + (
        [f"{ERROR} {row['errors']} error(s)"] if row["errors"] else [])
    kind = "errors" if row["errors"] else "warnings" if row["warnings"] else "none"
    text = [dcc.Link(" · ".join(parts), href="/quality" + ui.query(country=country, quarter=quarter))
            ] if parts else "none"
    return html.Td(html.Span(text, className=f"cell cell-{kind}"),
                   id=f"quality-cell-{country}-{quarter}")


ui.filters_in_url("quality", country="quality-country", quarter="quality-quarter", show="quality-show")

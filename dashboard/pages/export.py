"""EU export (managers): the EU reporting pack of a period, as .xlsx or a zip of CSV files.

The same pack as `mvh export`: its data is frozen as a snapshot first, so it can be produced
again identically after corrections (`mvh export --snapshot ID`). Each export is audited. The
period is one of the grant's reporting periods (indicators.yaml `export.reporting_periods`) or a
range of quarters, counted as of its end or a later quarter; the pack's KPI summary is shown
before it is downloaded, built by the pack's own code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import dash
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import auth, data, i18n, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry
from pipelines.export import pack, snapshot
from pipelines.export import write as export_write
from pipelines.marts import people
from pipelines.store import db

dash.register_page(__name__, path="/export", name="EU export", title="EU export", order=10)

FORMATS = [{"label": "Excel (.xlsx)", "value": "xlsx"}, {"label": N_("CSV files (.zip)"), "value": "csv"}]
# The pack is in English, the EU's language; the page shows what it says in the reader's: the
# kinds of reporting period (indicators.yaml export.reporting_periods), the measures and what each
# KPI counts (pack.COUNTS). A text not among these shows as the pack writes it.
WORDS = (N_("Interim report"), N_("Final report"), N_("stock"), N_("flow"), N_("people"),
         N_("entities with a status"), N_("estimated people reached (indirect)"),
         N_("participations (a person in two activities counts twice)"),
         N_("unique participants (each person once)"), N_("not collected"))
# what the browser is told it receives, so that it saves the pack under its own name and extension
MEDIA = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".zip": "application/zip"}
CUSTOM = "custom"


def layout(**_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    period = _default(reg, latest)
    first, last = (period.first, period.last) if period else _this_year(reg, latest)
    options = [*({"label": _("{name}: {first} to {last}", name=i18n.word(p.name), first=p.first,
                             last=p.last), "value": p.name}
                 for p in reg.export.reporting_periods), {"label": _("Custom range"), "value": CUSTOM}]
    # the pack's sheets by their names in it (English, the EU's language), where the sentence puts them
    before, _sheets, after = _("The pack for the {framework} report, one sheet each: {sheets}.").partition(
        "{sheets}")
    names = [part for name in pack.sheets(reg) for part in (", ", html.Cite(name, lang="en"))][1:]
    return html.Div([
        ui.page_head(_("EU export pack")),
        html.Section([
            html.P([before.format(framework=reg.export.framework), *names,
                    after.format(framework=reg.export.framework), " ",
                    _("Aggregates only: no contact details or free text; person counts under five are "
                      "shown as \"<5\"."), " ",
                    _("It counts approved quarters only (the switch at the top).") if data.approved_only()
                    else _("It counts every current version; switch to approved data only at the top to "
                           "leave out quarters not yet approved.")], className="muted"),
            html.Div([
                ui.picker("export-period", _("Reporting period"), options, period.name if period else CUSTOM),
                ui.picker("export-from", _("From"), reg.quarters, first),
                ui.picker("export-to", _("To"), reg.quarters, last),
                ui.picker("export-as-of", _("Data as of"), _later(reg, last), last),
                ui.picker("export-format", _("Format"),
                          [{**f, "label": i18n.word(f["label"])} for f in FORMATS], "xlsx"),
            ], className="controls pickers"),
            html.P(_("Flows are summed over the period's quarters, stocks counted at its end; cumulative "
                     "values and statuses are as of the quarter chosen (the period's end, or later for "
                     "corrections reported since)."), className="muted"),
            html.Button(_("Download the pack"), id="export-button", className="download"),
            dcc.Loading(html.P(id="export-result", role="status")),
            dcc.Download(id="export-download"),
        ], className="panel"),
        html.Section(_preview(first, last, last), id="export-preview", className="panel"),
    ])


def _default(reg, latest: str):
    """The reporting period the latest quarter falls in (the first that ends at or after it)."""
    return next((p for p in reg.export.reporting_periods if p.first <= latest <= p.last), None)


def _this_year(reg, latest: str) -> tuple[str, str]:
    """The latest quarter's year so far, as the range offered when no reporting period fits."""
    year = latest.split("-")[0]
    return next((q for q in reg.quarters if q.startswith(year)), reg.quarters[0]), latest


def _later(reg, last: str) -> list[str]:
    """The quarters a pack may be counted as of: the period's end or later."""
    return [q for q in reg.quarters if q >= last]


@callback(Output("export-period", "value"), Output("export-from", "value"), Output("export-to", "value"),
          Output("export-as-of", "options"), Output("export-as-of", "value"),
          Input("export-period", "value"), Input("export-from", "value"), Input("export-to", "value"),
          prevent_initial_call=True)
def _period(period: str, first: str, last: str):
    """A reporting period sets its quarters; quarters typed in make it the period they match, or a
    custom range; the data are then as of the period's end."""
    reg = registry.get()
    presets = {p.name: p for p in reg.export.reporting_periods}
    if ctx.triggered_id == "export-period":
        if not isinstance(period, str) or period not in presets:
            return (no_update,) * 5
        first, last = presets[period].first, presets[period].last
    if first not in reg.quarters or last not in reg.quarters:
        return (no_update,) * 5
    named = next((name for name, p in presets.items() if (p.first, p.last) == (first, last)), CUSTOM)
    return named, first, last, _later(reg, last), last


@callback(Output("export-preview", "children"), Input("export-from", "value"),
          Input("export-to", "value"), Input("export-as-of", "value"), prevent_initial_call=True)
def _preview_again(first: str, last: str, as_of: str) -> list:
    return _preview(first, last, as_of)


def _preview(first: str, last: str, as_of: str) -> list:
    """The pack's KPI summary for the period as of the quarter, as the pack will have it."""
    try:
        span, as_of = _checked(first, last, as_of)
    except ValueError as exc:
        return [html.H2(_("KPI summary")), html.P(_("No preview: {reason}", reason=exc), role="status")]
    return [html.H2(_("KPI summary, {period}, as of {quarter}", period=span, quarter=as_of)),
            html.P(_("The pack's sheet KPI summary as it will be written: value for the period, "
                     "cumulative value, plan, % of target and status, per country, and what each KPI "
                     "counts."), className="muted"),
            ui.table("export-preview-table", _said(data.kpi_summary(span.first, span.last, as_of), span,
                                                   as_of), pinned=(_("KPI"),))]


def _said(summary: pd.DataFrame, span: pack.Period, as_of: str) -> pd.DataFrame:
    """The pack's KPI summary in the reader's language: its columns, and the words the pack
    writes in its cells (KPIs, units, measures, statuses, what each KPI counts, "not collected");
    its numbers as they are."""
    reg = registry.get()
    kpis = {k.id: k for k in reg.kpis}
    statuses = {f"{s.symbol} {s.label}": f"{s.symbol} {i18n.status(s)}"
                for s in reg.status_rule.statuses.values()}
    countries = [c.code for c in reg.countries if c.code in summary.columns]
    said = summary.assign(**{
        "KPI": [i18n.kpi(kpis[k]) for k in summary["KPI id"]],
        "Unit": [i18n.kpi(kpis[k], "unit") for k in summary["KPI id"]],
        "Measure": summary["Measure"].map(i18n.word),
        "Status": summary["Status"].map(lambda s: statuses.get(s, s)),
        "Counts": summary["Counts"].map(i18n.word),
        **{c: summary[c].map(lambda v: i18n.word(v) if v == people.NOT_COLLECTED else v) for c in countries}})
    return said.rename(columns={
        "KPI id": _("KPI id"), "KPI": _("KPI"), "Unit": _("Unit"), "Measure": _("Measure"),
        "Target": _("Target"), f"Value {span}": _("Value {period}", period=span),
        f"Cumulative to {as_of}": _("Cumulative to {quarter}", quarter=as_of),
        f"Planned at {as_of}": _("Planned at {quarter}", quarter=as_of), "% of target": _("% of target"),
        "Status": _("Status"), "Counts": _("Counts")})


def _checked(first: object, last: object, as_of: object) -> tuple[pack.Period, str]:
    """The period and as-of quarter as the pack checks them; ValueError saying what to pick."""
    reg = registry.get()
    if not all(isinstance(q, str) and q in reg.quarters for q in (first, last, as_of)):
        raise ValueError(_("pick the first and the last quarter, and the quarter of the data, from the "
                           "lists."))
    span = pack.parse_period(f"{first}..{last}", reg)
    return span, pack.check_as_of(as_of, span, reg)


@callback(Output("export-download", "data"), Output("export-result", "children"),
          Input("export-button", "n_clicks"), State("export-from", "value"), State("export-to", "value"),
          State("export-format", "value"), State("export-as-of", "value"), prevent_initial_call=True)
def _export(_clicks, first: str, last: str, fmt: str, as_of: str):
    reg = registry.get()
    if fmt not in [f["value"] for f in FORMATS]:
        return no_update, _("No pack: pick Excel or CSV files as the format.")
    try:
        span, as_of = _checked(first, last, as_of)
        with tempfile.TemporaryDirectory() as folder:
            # named with its extension: the download's name and media type follow it
            path, manifest = export_write.produce(None, reg, fmt, Path(folder) / f"pack.{fmt}", str(span),
                                                  as_of, approved_only=data.approved_only())
            content = path.read_bytes()
    except (ValueError, db.NoDatabase, snapshot.SnapshotError) as exc:
        return no_update, _("No pack: {reason}", reason=exc)
    later = f"_as_of_{as_of}" if as_of != span.last else ""
    name = f"MVH_export_{span.first}_{span.last}{later}_{manifest['id']}{path.suffix}"
    auth.audit("export", name, f"period {manifest['period']}, as of {manifest['as_of']}, "
                               f"snapshot {manifest['id']}")
    counted = _("approved quarters only") if manifest["approved_only"] else _("every current version")
    return (dcc.send_bytes(content, name, type=MEDIA[path.suffix]),
            _("{file}: {count} submission(s) ({counted}), snapshot {snapshot}.", file=name,
              count=len(manifest["submissions"]), counted=counted, snapshot=manifest["id"]))

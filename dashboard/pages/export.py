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
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import auth, data, ui
from pipelines.declaration import registry
from pipelines.export import pack, snapshot
from pipelines.export import write as export_write
from pipelines.store import db

dash.register_page(__name__, path="/export", name="EU export", title="EU export", order=10)

FORMATS = [{"label": "Excel (.xlsx)", "value": "xlsx"}, {"label": "CSV files (.zip)", "value": "csv"}]
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
    options = [*({"label": f"{p.name}: {p.first} to {p.last}", "value": p.name}
                 for p in reg.export.reporting_periods), {"label": "Custom range", "value": CUSTOM}]
    return html.Div([
        ui.page_head("EU export pack"),
        html.Section([
            html.P(f"The pack for the {reg.export.framework} report, one sheet each: "
                   f"{', '.join(pack.sheets(reg))}. Aggregates only: no contact details or free "
                   "text; person counts under five are shown as \"<5\". It counts "
                   + ("approved quarters only (the switch at the top)." if data.approved_only() else
                      "every current version; switch to approved data only at the top to leave out "
                      "quarters not yet approved."), className="muted"),
            html.Div([
                ui.picker("export-period", "Reporting period", options, period.name if period else CUSTOM),
                ui.picker("export-from", "From", reg.quarters, first),
                ui.picker("export-to", "To", reg.quarters, last),
                ui.picker("export-as-of", "Data as of", _later(reg, last), last),
                ui.picker("export-format", "Format", FORMATS, "xlsx"),
            ], className="controls pickers"),
            html.P("Flows are summed over the period's quarters, stocks counted at its end; cumulative "
                   "values and statuses are as of the quarter chosen (the period's end, or later for "
                   "corrections reported since).", className="muted"),
            html.Button("Download the pack", id="export-button", className="download"),
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
        return [html.H2("KPI summary"), html.P(f"No preview: {exc}", role="status")]
    return [html.H2(f"KPI summary, {span}, as of {as_of}"),
            html.P("The pack's sheet KPI summary as it will be written: value for the period, "
                   "cumulative value, plan, % of target and status, per country, and what each KPI "
                   "counts.", className="muted"),
            ui.table("export-preview-table", data.kpi_summary(span.first, span.last, as_of),
                     pinned=("KPI",))]


def _checked(first: object, last: object, as_of: object) -> tuple[pack.Period, str]:
    """The period and as-of quarter as the pack checks them; ValueError saying what to pick."""
    reg = registry.get()
    if not all(isinstance(q, str) and q in reg.quarters for q in (first, last, as_of)):
        raise ValueError("pick the first and the last quarter, and the quarter of the data, from the lists.")
    span = pack.parse_period(f"{first}..{last}", reg)
    return span, pack.check_as_of(as_of, span, reg)


@callback(Output("export-download", "data"), Output("export-result", "children"),
          Input("export-button", "n_clicks"), State("export-from", "value"), State("export-to", "value"),
          State("export-format", "value"), State("export-as-of", "value"), prevent_initial_call=True)
def _export(_clicks, first: str, last: str, fmt: str, as_of: str):
    reg = registry.get()
    if fmt not in [f["value"] for f in FORMATS]:
        return no_update, "No pack: pick Excel or CSV files as the format."
    try:
        span, as_of = _checked(first, last, as_of)
        with tempfile.TemporaryDirectory() as folder:
            # named with its extension: the download's name and media type follow it
            path, manifest = export_write.produce(None, reg, fmt, Path(folder) / f"pack.{fmt}", str(span),
                                                  as_of, approved_only=data.approved_only())
            content = path.read_bytes()
    except (ValueError, db.NoDatabase, snapshot.SnapshotError) as exc:
        return no_update, f"No pack: {exc}"
    later = f"_as_of_{as_of}" if as_of != span.last else ""
    name = f"MVH_export_{span.first}_{span.last}{later}_{manifest['id']}{path.suffix}"
    auth.audit("export", name, f"period {manifest['period']}, as of {manifest['as_of']}, "
                               f"snapshot {manifest['id']}")
    counted = "approved quarters only" if manifest["approved_only"] else "every current version"
    return (dcc.send_bytes(content, name, type=MEDIA[path.suffix]),
            f"{name}: {len(manifest['submissions'])} submission(s) ({counted}), snapshot {manifest['id']}.")

"""EU export (managers): the EU reporting pack of a period, as .xlsx or a zip of CSV files.

The same pack as `mvh export`: its data is frozen as a snapshot first, so it can be produced
again identically after corrections (`mvh export --snapshot ID`). Each export is audited.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import auth, data, ui
from pipelines.declaration import registry
from pipelines.export import pack, snapshot
from pipelines.export import write as export_write
from pipelines.store import db

dash.register_page(__name__, path="/export", name="EU export", title="EU export", order=10)

FORMATS = [{"label": "Excel (.xlsx)", "value": "xlsx"}, {"label": "CSV files (.zip)", "value": "csv"}]


def layout(**_query) -> html.Div:
    reg = registry.get()
    latest = data.latest_quarter()
    if latest is None:
        return ui.no_data()
    year = latest.split("-")[0]
    first = next((q for q in reg.quarters if q.startswith(year)), reg.quarters[0])
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
                ui.picker("export-from", "From", reg.quarters, first),
                ui.picker("export-to", "To", reg.quarters, latest),
                ui.picker("export-format", "Format", FORMATS, "xlsx"),
                html.Button("Download the pack", id="export-button", className="download"),
            ], className="controls"),
            dcc.Loading(html.P(id="export-result", role="status")),
            dcc.Download(id="export-download"),
        ], className="panel"),
    ])


@callback(Output("export-download", "data"), Output("export-result", "children"),
          Input("export-button", "n_clicks"), State("export-from", "value"), State("export-to", "value"),
          State("export-format", "value"), prevent_initial_call=True)
def _export(_clicks, first: str, last: str, fmt: str):
    reg = registry.get()
    if first not in reg.quarters or last not in reg.quarters:
        return no_update, "No pack: pick the first and the last quarter from the lists."
    if fmt not in [f["value"] for f in FORMATS]:
        return no_update, "No pack: pick Excel or CSV files as the format."
    try:
        with tempfile.TemporaryDirectory() as folder:
            path, manifest = export_write.produce(None, reg, fmt, Path(folder) / "pack", f"{first}..{last}",
                                                  approved_only=data.approved_only())
            content = path.read_bytes()
    except (ValueError, db.NoDatabase, snapshot.SnapshotError) as exc:
        return no_update, f"No pack: {exc}"
    name = f"MVH_export_{first}_{last}_{manifest['id']}{path.suffix}"
    auth.audit("export", name, f"period {manifest['period']}, as of {manifest['as_of']}, "
                               f"snapshot {manifest['id']}")
    counted = "approved quarters only" if manifest["approved_only"] else "every current version"
    return dcc.send_bytes(content, name), (f"{name}: {len(manifest['submissions'])} submission(s) "
                                           f"({counted}), snapshot {manifest['id']}.")

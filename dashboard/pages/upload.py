"""Upload: drop a workbook, see its findings at once in the partner's language, download it marked.

Also the blank template for a country and quarter. The uploaded bytes are kept, named by their
hash, in data/processed/uploads/ (beside the database); checking never writes to the database.
"""

from __future__ import annotations

import base64
import hashlib
import io

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from dashboard.ui import status_badge
from pipelines import check, db, registry, template

dash.register_page(__name__, path="/upload", name="Upload", title="Upload", order=9)

MAX_UPLOAD_MB = 20  # the same limit as the container check; the server refuses larger requests


def uploads_dir():
    return db.path().parent / "uploads"


def layout(**_query) -> html.Div:
    reg = registry.get()
    languages = [{"label": code, "value": code} for code in reg.languages]
    return html.Div([
        html.H1("Upload a quarterly workbook"),
        html.Section([
            html.H2("Check a workbook"),
            html.P("Drop the filled-in workbook here. Every problem is listed at once, with the "
                   "cell, what is wrong and how to fix it; download your workbook with the cells "
                   f"marked. Nothing is loaded into the database by a check. Files up to {MAX_UPLOAD_MB} MB.",
                   className="muted"),
            html.Label(["Language of the messages", dcc.Dropdown(
                id="upload-lang", options=[{"label": "the workbook's own", "value": ""}, *languages],
                value="", clearable=False, searchable=False)], className="picker-label"),
            dcc.Upload(id="upload-file", className="dropzone", max_size=MAX_UPLOAD_MB * 1024 * 1024,
                       accept=".xlsx,.xlsm,.xls", children=html.Div(
                           ["Drag and drop the workbook here, or ", html.A("choose a file", href="#")])),
            dcc.Loading(html.Div(id="upload-result", **{"aria-live": "polite"})),
            dcc.Download(id="upload-annotated-download"),
            dcc.Store(id="upload-annotated-path"),
        ], className="panel"),
        html.Section([
            html.H2("Download a blank template"),
            html.Div([
                html.Label(["Country", dcc.Dropdown(
                    id="upload-template-country", value=reg.countries[0].code, clearable=False,
                    options=[{"label": f"{c.name} ({c.code})", "value": c.code} for c in reg.countries])],
                    className="picker-label"),
                html.Label(["Quarter", dcc.Dropdown(id="upload-template-quarter", options=reg.quarters,
                                                    value=reg.quarters[-1], clearable=False)],
                           className="picker-label"),
                html.Label(["Language", dcc.Dropdown(
                    id="upload-template-lang", clearable=False, value="",
                    options=[{"label": "the country's own", "value": ""}, *languages])],
                    className="picker-label"),
                html.Button("Download template", id="upload-template-button", className="download"),
            ], className="controls"),
            dcc.Download(id="upload-template-download"),
        ], className="panel"),
    ])


@callback(Output("upload-result", "children"), Output("upload-annotated-path", "data"),
          Output("upload-file", "contents"),
          Input("upload-file", "contents"), State("upload-file", "filename"), State("upload-lang", "value"),
          prevent_initial_call=True)
def _check(contents: str | None, filename: str | None, lang: str):
    if not contents:
        return no_update, no_update, no_update
    reg = registry.get()
    data = base64.b64decode(contents.split(",", 1)[1])
    sha = hashlib.sha256(data).hexdigest()
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "." + (filename or "x.xlsx").rsplit(".", 1)[-1].lower()[:5]
    kept = folder / f"{sha}{suffix}"
    kept.write_bytes(data)
    result = check.check(kept, reg, lang=lang or None, annotated=folder / f"{sha}.checked.xlsx")
    # contents reset, so that dropping the same file again checks it again
    return _report(reg, filename or kept.name, result), str(result.annotated or ""), None


# Empty the browser's file input after each check, or dropping the same file again does nothing.
clientside_callback(
    """function(_) {
        const input = document.querySelector('#upload-file input[type=file]');
        if (input) { input.value = ''; }
        return window.dash_clientside.no_update;
    }""",
    Output("upload-file", "className"), Input("upload-result", "children"), prevent_initial_call=True)


def _report(reg, filename: str, result: check.Checked) -> html.Div:
    rows = result.localised(reg)
    errors = sum(r["severity"] == "error" for r in rows)
    verdict = ("off_track", f"{errors} error(s): the workbook would be refused. Correct the cells "
               "below and upload it again.") if errors else \
        ("achieved", "No errors: the workbook can be submitted." +
         (f" {len(rows)} warning(s) will be reviewed by the coordination." if rows else ""))
    table = html.Table([
        html.Thead(html.Tr([html.Th(h, scope="col") for h in
                            ("Severity", "Sheet", "Cell", "Value", "What is wrong", "How to fix it")])),
        html.Tbody([html.Tr([html.Td(r["severity"]), html.Td(r["sheet"]), html.Td(r["cell"]),
                             html.Td(r["value"]), html.Td(r["message"]), html.Td(r["fix"])],
                            className=f"finding-{r['severity']}") for r in rows]),
    ], className="grid", id="upload-findings") if rows else None
    download = html.Button("Download your workbook with the cells marked", id="upload-annotated-button",
                           className="download") if result.annotated else None
    return html.Div([
        html.P([status_badge(reg, verdict[0]), f" {filename}: {verdict[1]}"], id="upload-verdict"),
        download, html.Div(table, className="table-scroll"),
    ])


@callback(Output("upload-annotated-download", "data"), Input("upload-annotated-button", "n_clicks"),
          State("upload-annotated-path", "data"), prevent_initial_call=True)
def _download_annotated(_clicks, path: str | None):
    if not path or not path.startswith(str(uploads_dir())):
        return no_update
    return dcc.send_file(path, filename="checked-workbook.xlsx")


@callback(Output("upload-template-download", "data"), Input("upload-template-button", "n_clicks"),
          State("upload-template-country", "value"), State("upload-template-quarter", "value"),
          State("upload-template-lang", "value"), prevent_initial_call=True)
def _download_template(_clicks, country: str, quarter: str, lang: str):
    buffer = io.BytesIO()
    template.build(registry.get(), country, quarter, lang or None).save(buffer)
    return dcc.send_bytes(buffer.getvalue(), f"MVH_{country}_{quarter}.xlsx")

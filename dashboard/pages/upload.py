"""Upload: drop a workbook; it is checked and, without errors, loaded; findings at once in the
partner's language, the workbook with its cells marked to download.

Partners upload for their own country only; managers for any. The bytes are kept first, named by
their hash, in data/processed/uploads/ (pipelines/uploads.py), then the file queues for the
single writer: simultaneous uploads each wait their turn and get their own answer. "Only check"
validates without loading. The blank template of a country and quarter is here too. The marked
copy of a workbook carrying a participant register has that sheet emptied (codes are never kept
on the server); the register's findings are in its findings sheet and on the page.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import logging
from pathlib import Path

import dash
import flask
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from dashboard import auth, data, i18n, ui
from dashboard.i18n import N_, _
from pipelines import check, ingest, notify, stages, uploads
from pipelines.declaration import registry, template
from pipelines.ingest import ANNOTATED_SUFFIX
from pipelines.intake import container
from pipelines.intake.findings import Finding
from pipelines.marts import carried, versions
from pipelines.store import db

dash.register_page(__name__, path="/upload", name="Upload", title="Upload", order=9,
                   access="partner")

MAX_UPLOAD_MB = container.MAX_FILE_BYTES // container.MB
SUBMIT, CHECK = "submit", "check"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger(__name__)
TOO_LARGE = N_("{filename} is {size} MB: the limit is {limit} MB. Remove images or unused sheets, "
               "save it again and upload it again.")
STORAGE_FAILED = N_("The server cannot store files at the moment (its storage is full or read-only). "
                    "{filename} is kept if it could be and will be loaded once the storage is fixed; "
                    "if it is not on the Submissions page tomorrow, upload it again. The coordination "
                    "has been told.")


def layout(**_query) -> html.Div:
    reg = registry.get()
    user = auth.current()
    languages = [{"label": i18n.name(code), "value": code} for code in reg.languages]
    countries = [c for c in reg.countries if user and user.may_upload_for(c.code)]
    return html.Div([
        html.H1(_("Upload a quarterly workbook")),
        html.Section([
            html.H2(_("Submit a workbook")),
            html.P(_("Drop the filled-in workbook here. It is checked at once: every problem is "
                     "listed, with the cell, what is wrong and how to fix it, and you can download "
                     "your workbook with the cells marked. A workbook without errors is loaded and "
                     "counts from then on; a later one for the same quarter (from the same "
                     "organisation, where each partner organisation reports its own) replaces it. "
                     "Files up to {size} MB.", size=MAX_UPLOAD_MB) + (
                       " " + _("You can submit for {whom} only.", whom=user.bound_to)
                       if user and user.country else ""), className="muted"),
            html.Div([
                dcc.RadioItems(id="upload-mode", value=SUBMIT, className="radio", options=[
                    {"label": _("Check and submit"), "value": SUBMIT},
                    {"label": _("Only check (nothing is loaded)"), "value": CHECK}]),
                html.Label([_("Language of the messages"), dcc.Dropdown(
                    id="upload-lang", options=[*languages, {"label": _("the workbook's own"), "value": ""}],
                    value=i18n.lang(), clearable=False, searchable=False)], className="picker-label"),
            ], className="controls"),
            # no `accept` filter: a PDF or a CSV dropped here must get a message, not be ignored
            dcc.Upload(id="upload-file", className="dropzone", max_size=-1, children=html.Div([
                html.Strong(_("Drop your workbook here")), html.Br(),
                _("Excel (.xlsx) or LibreOffice (.ods), up to {size} MB — or", size=MAX_UPLOAD_MB) + " ",
                html.Span(_("choose a file"), className="dropzone-link")])),
            html.P(id="upload-too-large", role="alert", className="error"),
            dcc.Store(id="upload-payload"),
            # the message for a file over the limit, its name and size filled in by the browser
            dcc.Store(id="upload-too-large-text",
                      data=_(TOO_LARGE, limit=MAX_UPLOAD_MB, filename="{filename}", size="{size}")),
            dcc.Store(id="upload-sending-text", data=_(SENDING)),
            # shown while a workbook is worked on: the stage it has reached, asked every 0.7 s
            html.P([html.Span(className="spinner", **{"aria-hidden": "true"}),
                    html.Span(_(SENDING), id="upload-stage"),
                    html.Span(_("A large file can take a minute."), className="muted")],
                   id="upload-progress", className="progress", role="status", hidden=True),
            dcc.Interval(id="upload-ticker", interval=700, disabled=True),
            html.Div(id="upload-result", **{"aria-live": "polite"}),
            dcc.Download(id="upload-annotated-download"),
        ], className="panel"),
        html.Section([
            html.H2(_("Download the template")),
            html.P(_("The template of a quarter starts with your councils and authorities as you last "
                     "reported them: update them (status, members) rather than typing them again, and "
                     "fill in the quarter's activities and outreach."), className="muted"),
            html.Div([
                html.Label([_("Country"), dcc.Dropdown(
                    id="upload-template-country", value=countries[0].code if countries else None,
                    clearable=False,
                    options=[{"label": i18n.country(c.code), "value": c.code} for c in countries])],
                    className="picker-label"),
                html.Label([_("Quarter"), dcc.Dropdown(id="upload-template-quarter", options=reg.quarters,
                                                    value=reg.quarters[-1], clearable=False)],
                           className="picker-label"),
                html.Label([_("Language"), dcc.Dropdown(
                    id="upload-template-lang", clearable=False, value="",
                    options=[{"label": _("the country's own"), "value": ""}, *languages])],
                    className="picker-label"),
                dcc.Checklist(id="upload-template-blank", className="radio", value=[],
                              options=[{"label": _("Blank (nothing carried over)"), "value": "blank"}]),
                html.Button(_("Download template"), id="upload-template-button", className="download"),
            ], className="controls"),
            dcc.Download(id="upload-template-download"),
        ], className="panel"),
    ])


# In the browser, before anything is sent: refuse a file over the limit with a message (the
# server would answer 413, which Dash does not show), pass the others on, and empty the file
# input so that dropping the same file again uploads it again.
clientside_callback(
    f"""function(contents, filename, said, sending) {{
        const input = document.querySelector('#upload-file input[type=file]');
        if (input) {{ input.value = ''; }}
        const keep = window.dash_clientside.no_update;
        if (!contents) {{ return [keep, keep, null, keep, keep, keep]; }}
        const bytes = Math.floor((contents.length - contents.indexOf(',') - 1) * 3 / 4);
        if (bytes > {MAX_UPLOAD_MB * 1024 * 1024}) {{
            const mb = (Math.ceil(bytes * 10 / 1048576) / 10).toFixed(1);  // never shown as the limit
            const message = said.replace('{{filename}}', filename).replace('{{size}}', mb);
            return [message, keep, null, keep, keep, keep];
        }}
        // a new object each time (`at`), or the same file dropped again would not be sent; the
        // progress line shows and asks for the stage until the answer comes
        return ['', {{contents: contents, filename: filename, at: Date.now()}}, null, false, false, sending];
    }}""",
    Output("upload-too-large", "children"), Output("upload-payload", "data"),
    Output("upload-file", "contents"), Output("upload-progress", "hidden"),
    Output("upload-ticker", "disabled"), Output("upload-stage", "children", allow_duplicate=True),
    Input("upload-file", "contents"), State("upload-file", "filename"),
    State("upload-too-large-text", "data"), State("upload-sending-text", "data"), prevent_initial_call=True)


@callback(Output("upload-result", "children"), Input("upload-payload", "data"),
          State("upload-mode", "value"), State("upload-lang", "value"), prevent_initial_call=True)
def _upload(payload: dict | None, mode: str, lang: str):
    if not isinstance(payload, dict) or auth.current() is None:
        return no_update
    reg = registry.get()
    mode = CHECK if mode == CHECK else SUBMIT  # anything else sent is taken as the default
    lang = lang if isinstance(lang, str) and lang in reg.languages else ""
    filename = payload.get("filename")
    filename = filename[:255] if isinstance(filename, str) and filename.strip() else "upload.xlsx"
    progress = _progress_file(payload)
    try:
        with stages.watched(lambda stage: _note(progress, stage)):
            answer = _answer(payload, mode, lang, filename)
    except OSError:
        log.exception("storing or loading the upload %r failed", filename)
        auth.audit("upload_failed", filename, "storage full or read-only")
        answer = html.P([html.Span(_("✖ Not loaded"), className="verdict verdict-refused"),
                         " " + _(STORAGE_FAILED, filename=filename)], id="upload-verdict")
    finally:
        with contextlib.suppress(OSError):
            progress.unlink(missing_ok=True)
    # keyed by the moment of the drop: the answer is drawn (and announced) again even when the
    # same file gives the same answer
    return html.Div(answer, key=str(payload.get("at", "")))


# the answer is there: the progress line goes, and stops asking
clientside_callback("function(_answer) { return [true, true]; }",
                    Output("upload-progress", "hidden", allow_duplicate=True),
                    Output("upload-ticker", "disabled", allow_duplicate=True),
                    Input("upload-result", "children"), prevent_initial_call=True)


SENDING = N_("Sending your workbook…")
STAGES = {  # what the progress line says at each stage of the work (pipelines/stages.py)
    stages.WAITING: N_("Waiting for the uploads sent before yours…"),
    stages.READING: N_("Reading the sheets of your workbook…"),
    stages.CHECKING: N_("Checking every cell…"),
    stages.LOADING: N_("Loading it into the database…"),
    stages.MARKING: N_("Marking the cells to fix in your workbook…"),
}


def _progress_file(payload: dict) -> Path:
    """Where the stage of this reader's upload is noted: a file, since the page may ask another
    server process than the one doing the work."""
    user = auth.current()
    token = hashlib.sha256(f"{user.username if user else ''}|{payload.get('at')}".encode()).hexdigest()
    return uploads.uploads_dir() / "progress" / token[:32]


def _note(progress: Path, stage: str) -> None:
    with contextlib.suppress(OSError):  # a full disk must not stop the upload for a progress line
        progress.parent.mkdir(parents=True, exist_ok=True)
        progress.write_text(stage)


@callback(Output("upload-stage", "children"), Input("upload-ticker", "n_intervals"),
          State("upload-payload", "data"), prevent_initial_call=True)
def _stage(_ticks, payload: dict | None):
    """The stage the reader's upload has reached, in their language."""
    if not isinstance(payload, dict) or auth.current() is None:
        return no_update
    try:
        stage = _progress_file(payload).read_text()
    except OSError:
        return no_update
    return _(STAGES[stage]) if stage in STAGES else no_update


def _answer(payload: dict, mode: str, lang: str, filename: str):
    user = auth.current()
    reg = registry.get()
    try:
        data = base64.b64decode(str(payload.get("contents", "")).split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        return html.P(_("The file did not arrive whole: upload it again."), id="upload-verdict")
    kept = uploads.keep(data, filename)
    country = None if user.has("manager") else user.country
    organisation = None if user.has("manager") else user.organisation
    if mode == CHECK:
        result = check.check(kept, reg, lang=lang or None, uploader_country=country,
                             annotated=kept.with_name(kept.stem + ANNOTATED_SUFFIX), mark_clean=False,
                             uploader_organisation=organisation)
        for path in (kept, result.annotated):
            uploads.scrub(path, ingest.register_sheet(result.book, reg))
        auth.audit("check", filename, f"{result.book.country} {result.book.quarter}".strip())
        _remember(result.annotated, filename)
        return _report(reg, filename, result.localised(reg), None, result.annotated)
    _job, outcome = uploads.submit(kept, reg, user.username, country, file_name=filename,
                                   address=auth.address(), uploader_organisation=organisation)
    if outcome is None:
        auth.audit("upload_queued", filename)
        return verdict("queued", filename)
    if outcome["status"] == "accepted":
        notify.soon()  # the partners hear of the new version (and its warnings) within a minute
    found = [Finding(**{**f, "params": tuple(f["params"].items())}) for f in outcome["findings"]]
    lang = lang or outcome.get("language") or "en"
    annotated = _marked(kept, found, lang, outcome.get("register_sheet"))
    _remember(annotated, filename)
    rows = check.Checked(None, found, lang, annotated).localised(reg)
    return _report(reg, filename, rows, outcome, annotated)


def _marked(kept, found: list[Finding], lang: str, register_sheet: str | None):
    """The partner's workbook with its findings marked, or None (nothing to mark, or a file that
    can't be marked cheaply)."""
    annotated = check.marked_copy(kept, kept.with_name(kept.stem + ANNOTATED_SUFFIX), found, lang,
                                  registry.get()) if found else None
    uploads.scrub(annotated, register_sheet)
    return annotated


def _remember(annotated, filename: str) -> None:
    """The marked workbook this user may download, and the name it downloads as (the partner's
    own file's, e.g. BG_2023-Q4.checked.xlsx): kept in their session, not in the page."""
    flask.session["annotated"] = str(annotated) if annotated else None
    flask.session["annotated_name"] = Path(uploads.safe_name(filename)).stem + ANNOTATED_SUFFIX


SEVERITIES = N_("error"), N_("warning")  # a finding's, as the findings table shows it
VERDICTS = {  # kind of verdict, its badge, the sentence after it
    "accepted": ("loaded", N_("✔ Loaded"), N_("Loaded as {key} version {version}.")),
    "unchanged": ("unchanged", N_("= Already loaded"),
                  N_("This very file was loaded before; nothing changed.")),
    "rejected": ("refused", N_("✖ Not loaded"), N_("{errors} error(s): the workbook was not loaded. Correct "
                                                   "the cells below and upload it again.")),
    "failed": ("refused", N_("✖ Not loaded"), N_("It could not be loaded ({error}). It is kept; the "
                                                 "coordination has been told.")),
    "would_refuse": ("refused", N_("✖ Errors found"), N_("{errors} error(s): the workbook would be refused. "
                                                         "Correct the cells below and check it again. "
                                                         "Nothing was loaded.")),
    "would_load": ("checked", N_("✔ No errors"), N_("The workbook can be submitted. Nothing was loaded: "
                                                   "choose \"Check and submit\" to load it.")),
    "queued": ("waiting", N_("… Waiting"), N_("received and kept; the database is busy, so it waits in the "
                                              "queue and will be loaded within minutes. Its findings will "
                                              "then be on the Data quality page.")),
}


def verdict(kind: str, filename: str, **values) -> html.P:
    """What became of the file: a badge of its own (never a KPI status) and a sentence."""
    style, badge, text = VERDICTS[kind]
    return html.P([html.Span(_(badge), className=f"verdict verdict-{style}"),
                   f" {filename}: {_(text, **values)}"], id="upload-verdict")


def _report(reg, filename: str, rows: list[dict], outcome: dict | None, annotated) -> html.Div:
    errors = sum(r["severity"] == "error" for r in rows)
    warnings = len(rows) - errors
    if outcome is None:  # only checked
        said = verdict("would_refuse" if errors else "would_load", filename, errors=errors)
    else:
        key = " ".join(filter(None, (outcome.get(k) for k in ("country", "quarter", "organisation"))))
        said = verdict(outcome["status"], filename, key=key, errors=errors,
                       **{k: v for k, v in outcome.items() if k not in ("errors", "status")})
    table = html.Table([
        html.Thead(html.Tr([html.Th(h, scope="col") for h in
                            (_("Severity"), _("Sheet"), _("Cell"), _("Value"), _("What is wrong"),
                             _("How to fix it"))])),
        html.Tbody([html.Tr([html.Td(i18n.word(r["severity"])), html.Td(r["sheet"]), html.Td(r["cell"]),
                             html.Td(r["value"]), html.Td(r["message"]), html.Td(r["fix"])],
                            className=f"finding-{r['severity']}") for r in rows]),
    ], className="grid", id="upload-findings") if rows else None
    download = html.Button(_("Download your workbook with the cells marked"), id="upload-annotated-button",
                           className="download") if annotated else None
    loaded = outcome is not None and outcome["status"] == "accepted"
    where = ui.query(country=outcome.get("country"), quarter=outcome.get("quarter")) if loaded else ""
    warned = html.P([_("{count} warning(s): they did not stop the workbook.", count=warnings), " ", dcc.Link(
        _("Explain them to the coordination on the Data quality page"), href="/quality" + where,
        id="upload-explain"), "."]) if loaded and warnings else html.P(
        _("{count} warning(s): they do not stop the workbook; you can explain them once it is "
          "submitted.", count=warnings)) if warnings and not errors and outcome is None else None
    return html.Div([said, _effect(reg, outcome) if loaded else None, warned, download,
                     html.Div(table, className="table-scroll")])


def _effect(reg, outcome: dict) -> html.Div | None:
    """What the loaded version changed in its country's KPIs: before → after, the unchanged left out."""
    country = outcome["country"]
    reporter = reg.reporter(country, outcome.get("organisation"))
    with data.reading() as con:
        effects = versions.kpi_effect(con, reg, country, outcome["quarter"], reporter, outcome["version"])
    changed = [e for e in effects if e["country"] == country and e["change"]]
    if not changed:
        return html.P(_("No KPI of {country} changed.", country=i18n.country(country)), className="muted",
                      id="upload-effect")
    return html.Div([html.P(_("Effect on the KPIs of {country} as of {quarter}:",
                              country=i18n.country(country), quarter=outcome["quarter"])),
                     html.Ul([html.Li(f"{i18n.kpi(reg.kpi(e['kpi']))}: {ui.number(e['before'])} → "
                                      f"{ui.number(e['after'])} ({'+' if e['change'] > 0 else '−'}"
                                      f"{ui.number(abs(e['change']))})")
                              for e in changed])], id="upload-effect")


@callback(Output("upload-annotated-download", "data"), Input("upload-annotated-button", "n_clicks"),
          prevent_initial_call=True)
def _download_annotated(_clicks):
    path = flask.session.get("annotated")
    if not path or not path.startswith(str(uploads.uploads_dir())):
        return no_update
    return dcc.send_file(path, filename=flask.session.get("annotated_name") or "workbook" + ANNOTATED_SUFFIX,
                         type=XLSX)


@callback(Output("upload-template-download", "data"), Input("upload-template-button", "n_clicks"),
          State("upload-template-country", "value"), State("upload-template-quarter", "value"),
          State("upload-template-lang", "value"), State("upload-template-blank", "value"),
          prevent_initial_call=True)
def _download_template(_clicks, country: str, quarter: str, lang: str, blank: list | None):
    """The template, with the councils and authorities of the country (of the partner's own
    organisation, where the country reports per organisation) as last reported unless blank."""
    user, reg = auth.current(), registry.get()
    offered = country in [c.code for c in reg.countries] and quarter in reg.quarters \
        and lang in ("", None, *reg.languages)  # only values the page's own lists offer
    if user is None or not offered or not user.may_upload_for(country):
        return no_update
    wb = template.build(reg, country, quarter, lang or None)
    if not blank:
        reporter = carried.reporter(reg, country, user.organisation)
        try:
            with data.reading() as con:
                rows = carried.entities(con, reg, country, quarter, reporter)
        except db.NoDatabase:
            rows = {}
        template.fill(wb, reg, lang or reg.country(country).language, {}, rows)
    buffer = io.BytesIO()
    wb.save(buffer)
    return dcc.send_bytes(buffer.getvalue(), f"MVH_{country}_{quarter}.xlsx", type=XLSX)

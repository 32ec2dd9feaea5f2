"""Data quality: which figures are doubtful? Findings by country and quarter — the warnings kept
with accepted workbooks and the errors that got files rejected — and the list of refused uploads
with their senders. Open items by default: a warning of a superseded version or accepted by a
manager and the errors of a file corrected since are closed, listed with ?show=all.
/quality?country=AT&quarter=2023-Q3 lists the findings of one country and quarter.

A warning chosen in the findings table can be explained by its partner and accepted by a manager
(closing it) or sent back with what to correct (pipelines/access/finding_notes.py). The callback
checks on the server that the warning is one the user may see and that their role may do it.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import auth, data, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.access import finding_notes
from pipelines.declaration import registry

dash.register_page(__name__, path="/quality", name="Data quality", title="Data quality", order=6,
                   access="partner")

WARNING, ERROR = "▲", "✖"


SHOW = {"open": N_("Open items"), "all": N_("All, closed too")}
BUTTONS = {"explain": N_("Send the explanation"), "accept": N_("Accept the warning"),
           "correct": N_("Ask for a correction")}
# the words the findings table shows, in the reader's language: its columns and coded values
WORDS = (N_("State"), N_("Country"), N_("Quarter"), N_("Partner"), N_("File name"), N_("Version"),
         N_("Outcome"), N_("Severity"), N_("Sheet"), N_("Cell"), N_("Value"), N_("Check"), N_("Message"),
         N_("Fix"), N_("Review"), N_("At"), N_("Rejected at"), N_("Sent by"), N_("First error"),
         N_("Sender country"), N_("For country"), N_("Errors"), N_("open"), N_("closed: superseded"),
         N_("closed: accepted"), N_("closed: corrected"), N_("accepted"), N_("rejected"), N_("warning"),
         N_("error"), N_("Rule"), N_("Submission id"))
TRANSLATED = ("state", "outcome", "severity")
NOTE_ERRORS = N_("Write the explanation first."), N_("Say what to correct: the partner reads it.")
HIDDEN = ("submission_id", "rule")


def layout(country: str | None = None, quarter: str | None = None, show: str | None = None,
           **_query) -> html.Div:
    if data.latest_quarter() is None:
        return ui.no_data()
    reg, warnings, rejected = auth.scoped(registry.get(), data.findings(), data.rejected())  # a partner's own
    args = ui.Arguments()
    country = args.pick(country, [c.code for c in reg.countries], "country")
    quarter = args.pick(quarter, reg.quarters, "quarter")
    show = args.pick(show, list(SHOW), "show", "open")
    found = _found(warnings, rejected, show)
    counts = tables.findings_matrix(found, reg).set_index(["country", "quarter"])
    shown = tables.only(found, country=country, quarter=quarter)
    warnings = tables.only(found, severity="warning", outcome="accepted")
    errors = tables.only(found, severity="error")
    return html.Div([
        dcc.Location(id="quality-url", refresh="callback-nav"), *args.notes(),
        ui.page_head(_("Data quality"),
                     ui.picker("quality-country", _("Country"), ui.country_options(reg), country,
                               clearable=True, placeholder=_("All countries")),
                     ui.picker("quality-quarter", _("Quarter"), reg.quarters, quarter,
                               clearable=True, placeholder=_("All quarters")),
                     ui.picker("quality-show", _("Show"),
                               [{"label": _(v), "value": k} for k, v in SHOW.items()], show)),
        html.Section([
            html.P(_summary(warnings, errors, show),
                   className="lead", id="quality-summary"),
            html.P(_("Warnings let a workbook in and flag a figure to check; errors reject the file "
                     "until the partner sends a corrected one."), className="muted"),
            ui.matrix("quality-matrix", reg, lambda c, q: _cell(counts.loc[(c, q)], c, q)),
        ], className="panel"),
        html.Section([
            html.H2(_("Findings") + "".join(f", {x}" for x in (country, quarter) if x)),
            html.P(_("Choose a warning to explain it (partners) or to accept it or ask for a "
                     "correction (managers)."), className="muted"),
            ui.table("quality-findings", shown, pinned=("country",), hidden=HIDDEN, selectable=True),
            _note_form(),
        ], className="panel"),
        html.Section([
            html.H2(_("Refused uploads")),
            html.P(_("Every file that was refused, with who sent it: a file an account sent for a "
                     "country it does not report for is listed here only, never on that country's "
                     "pages."), className="muted"),
            ui.table("quality-refused", tables.refused_uploads(rejected), pinned=("rejected_at",)),
        ], className="panel"),
    ])


def _summary(warnings, errors, show: str) -> str:
    """How many warnings and errors, in how many files (the open ones, or all)."""
    open_only = show == "open"
    said = _("{count} open warning(s) in {files} accepted file(s)") if open_only else \
        _("{count} warning(s) in {files} accepted file(s)")
    refused = _("{count} error(s) in {files} rejected file(s) not corrected since.") if open_only else \
        _("{count} error(s) in {files} rejected file(s).")
    return (f"{WARNING} " + said.format(count=i18n.number(len(warnings)),
                                        files=i18n.number(warnings["file_name"].nunique()))
            + f"; {ERROR} " + refused.format(count=i18n.number(len(errors)),
                                             files=i18n.number(errors["file_name"].nunique())))


def _cell(row, country: str, quarter: str) -> html.Td:
    parts = ([f"{WARNING} " + _("{count} warning(s)", count=row["warnings"])] if row["warnings"] else []) \
        + ([f"{ERROR} " + _("{count} error(s)", count=row["errors"])] if row["errors"] else [])
    kind = "errors" if row["errors"] else "warnings" if row["warnings"] else "none"
    text = [dcc.Link(" · ".join(parts), href="/quality" + ui.query(country=country, quarter=quarter))
            ] if parts else _("none")
    return html.Td(html.Span(text, className=f"cell cell-{kind}"),
                   id=f"quality-cell-{country}-{quarter}")


def _found(warnings, rejected, show: str):
    """The findings the user may see (the open ones unless `show` is "all"), with what was said
    of each."""
    found = tables.all_findings(warnings, rejected, data.submissions(), finding_notes.by_finding())
    found = found if show == "all" else found[found["state"] == "open"]
    return _localised(found)


def _localised(found):
    """The findings in the reader's language (tables.localised), the table's coded values too."""
    found = found.copy()
    said = [tables.localised(r) for r in found.to_dict("records")]
    found["message"], found["fix"] = [m for m, _f in said], [f for _m, f in said]
    for column in TRANSLATED:
        found[column] = [_(v) if isinstance(v, str) else v for v in found[column]]
    return found.drop(columns=[c for c in ("sheet_id", "field", "params") if c in found.columns])


def _note_form() -> html.Div:
    """What the chosen warning is and what was said of it, a text and the buttons of the user's role."""
    user = auth.current()
    return html.Div([
        html.Div(html.P(_("No warning chosen."), className="muted"), id="quality-chosen", role="status"),
        html.Label([_("Explanation or what to correct"), dcc.Textarea(
            id="quality-note", maxLength=finding_notes.TEXT_MAX, className="review-reason")]),
        # every button is in the page (a callback fires only when all its inputs are); the ones
        # the user's role may not press are hidden, and refused on the server anyway
        html.Div([html.Button(_(label), id=f"quality-{a}", className="download",
                              hidden=not (user and user.has(finding_notes.ROLES[a])))
                  for a, label in BUTTONS.items()], className="controls"),
        html.P(id="quality-note-result", role="status"),
    ], className="review-controls", id="quality-note-form")


@callback(Output("quality-chosen", "children"), Input("quality-findings", "selectedRows"))
def _chosen(rows):
    """The chosen warning: where, what, its fix and what was said of it."""
    row = _allowed(rows)
    if row is None:
        return html.P(_("Choose a warning of a loaded file in the table above."), className="muted")
    said = tables.noted(finding_notes.by_finding().get(finding_notes.Finding.of(row), []))
    where = "!".join(filter(None, (row.get("sheet"), row.get("cell")))) or _("the file")
    return [html.P([html.Strong(f"{row['country']} {row['quarter']} · {row['file_name']} · {where}: "),
                    row.get("message") or ""]),
            html.P(_("Fix: {fix}", fix=row.get("fix") or "–"), className="muted"),
            html.Pre(said or _("Nothing said yet."), className="notes", id="quality-notes")]


@callback(Output("quality-note-result", "children"), Output("quality-findings", "rowData"),
          Output("quality-chosen", "children", allow_duplicate=True),
          *(Input(f"quality-{a}", "n_clicks") for a in BUTTONS),
          State("quality-findings", "selectedRows"), State("quality-note", "value"),
          State("quality-show", "value"), State("quality-country", "value"),
          State("quality-quarter", "value"), prevent_initial_call=True)
def _noted(*values):
    """A button pressed on a chosen warning: the note recorded, the table and the warning shown again."""
    *_clicks, rows, text, show, country, quarter = values
    action = str(ctx.triggered_id or "").removeprefix("quality-")
    user, row = auth.current(), _allowed(rows)
    if action not in BUTTONS or user is None:
        return no_update, no_update, no_update
    if row is None:
        return _("Choose a warning of a loaded file in the table first."), no_update, no_update
    if not user.has(finding_notes.ROLES[action]):
        auth.audit("denied", f"warning {action}")
        return _("Your account may not do this."), no_update, no_update
    try:
        finding_notes.add(action, finding_notes.Finding.of(row), user.username,
                          text if isinstance(text, str) else "", address=auth.address())
    except finding_notes.NoteError as exc:
        return _(str(exc)), no_update, no_update
    reg, warnings, rejected = auth.scoped(registry.get(), data.findings(), data.rejected())
    shown = tables.only(_found(warnings, rejected, show), country=country, quarter=quarter)
    done = {"explain": _("Explanation sent."), "accept": _("Warning accepted: it is closed."),
            "correct": _("Correction asked.")}[action]
    return done, tables.records(shown), _chosen([row])


def _allowed(rows) -> dict | None:
    """The chosen row, if it is a warning of a loaded file that the user may see (checked
    against the findings of their own scope, never against what the browser sent alone)."""
    if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
        return None
    chosen = finding_notes.Finding.of(rows[0])
    _reg, warnings, _rejected = auth.scoped(registry.get(), data.findings(), [])
    for row in warnings.to_dict("records"):
        if finding_notes.Finding.of(row) == chosen:
            return row
    return None


ui.filters_in_url("quality", country="quality-country", quarter="quality-quarter", show="quality-show")

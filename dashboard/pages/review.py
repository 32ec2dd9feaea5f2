"""Review (managers): the submissions waiting for a decision, oldest first, and for a country's
quarter every version received (the cover's notes, its warnings, the cells changed since the
previous version, its effect on the KPIs) with the decisions taken on it.

/review?country=RO&quarter=2022-Q3 opens a country's quarter: one in the queue to approve or
return, any other to read its history (an approved one can be reopened). A decision applies to
every organisation's current version of the quarter unless one organisation is chosen; it is kept
with the manager's name, the time and the address it came from (pipelines/access/approvals.py),
and in the audit trail.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import auth, data, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines import notify
from pipelines.access import approvals, finding_notes
from pipelines.declaration import registry
from pipelines.marts import versions
from pipelines.notify import smtp

dash.register_page(__name__, path="/review", name="Review", title="Review and approval", order=6.5)

WAITING = ("submitted", "reopened")
BUTTONS = {"approve": N_("Approve"), "return": N_("Return to the partner"), "reopen": N_("Reopen")}
SYMBOLS = {"submitted": "●", "returned": "↩", "approved": "✔", "reopened": "↻"}
# the review states in words (approvals.state), shown with i18n.word
STATES = (N_("submitted"), N_("returned"), N_("approved"), N_("reopened"), N_("expected"))
REASON_MAX = 1000
QUEUE = {"submission": N_("Submission"), "version": N_("Version"), "received": N_("Received"),
         "uploaded_by": N_("Uploaded by"), "warnings": N_("Warnings"), "state": N_("State")}
DECISIONS = {"at": N_("When (UTC)"), "decision": N_("Decision"), "organisation": N_("Organisation"),
             "version": N_("Version"), "actor": N_("By"), "reason": N_("Reason")}
FINDINGS = {"rule": N_("Rule"), "cell": N_("Cell"), "message": N_("Message"), "fix": N_("Fix"),
            "said": N_("Said")}
CHANGES = {"where": N_("Cell"), "id": N_("Row"), "field": N_("Field"), "before": N_("Before"),
           "after": N_("After")}
EFFECTS = {"kpi": N_("KPI"), "where": N_("Where"), "before": N_("Before"), "after": N_("After"),
           "change": N_("Change")}
# why a decision does not apply (approvals.decide's refusals), in the reader's language
NEEDS_REASON = {"return": N_("To return {key}, give the reason: the partner reads it."),
                "reopen": N_("To reopen {key}, give the reason: the partner reads it.")}
NOT_NOW = {"approve": N_("{key} is {state}: it can be approved only when submitted or returned or reopened."),
           "return": N_("{key} is {state}: it can be returned only when submitted or reopened."),
           "reopen": N_("{key} is {state}: it can be reopened only when approved.")}
def layout(country: str | None = None, quarter: str | None = None, **_query) -> html.Div:
    if data.latest_quarter() is None:
        return ui.no_data()
    reg = registry.get()
    args = ui.Arguments()
    country = args.pick(country, [c.code for c in reg.countries], "country")
    quarter = args.pick(quarter, reg.quarters, "quarter")
    states = _states()
    shown = _received(states, country, quarter)
    chosen = {"country": country, "quarter": quarter,  # and the versions the page shows
              "versions": {r: int(v) for r, v in zip(shown["organisation"], shown["version"], strict=True)}
              } if country and quarter else None
    return html.Div([
        dcc.Location(id="review-url", refresh="callback-nav"), *args.notes(),
        dcc.Store(id="review-chosen", data=chosen),
        ui.page_head(
            _("Review and approval"),
            ui.picker("review-country", _("Country"), ui.country_options(reg), country,
                      clearable=True, placeholder=_("Pick a country")),
            ui.picker("review-quarter", _("Quarter"), reg.quarters, quarter,
                      clearable=True, placeholder=_("Pick a quarter"))),
        html.Section(_view(country, quarter, states) if chosen else html.P(
            _("Pick a submission from the queue to review it, or a country and a quarter to read "
              "its history."), className="muted"), id="review-view", className="panel"),
        html.Section([html.H2(_("Waiting for a decision")), html.Div(_queue(states), id="review-queue")],
                     className="panel"),
        _mail(),
    ], className="review")


def _mail() -> html.P:
    """Whether partners are told of the decisions by e-mail (pipelines/notify: the settings it
    reads, said here in the reader's language)."""
    try:
        s = smtp.settings()
    except smtp.NotConfigured as exc:
        named = exc.settings
        settings = _("{first} and {second}", first=named[0], second=named[1]) if len(named) == 2 \
            else ", ".join(named)
        return html.P(_("E-mail is not configured: set {settings} (see the README's E-mail "
                        "notifications); no notice or reminder is sent.", settings=settings),
                      className="note", id="review-mail")
    return html.P(_("Partners are told of each decision by e-mail, in their language. E-mail is sent "
                    "through {server} ({how}) from {sender}.", server=f"{s.host}:{s.port}",
                    how=_("with STARTTLS") if s.starttls else _("without encryption"), sender=s.sender),
                  className="muted", id="review-mail")


def _states() -> pd.DataFrame:
    """Every key's review state with its current version's arrival, uploader and warning count.
    Read afresh each time: decisions are kept beside the database, not in it."""
    reg = registry.get()
    with data.reading() as con:
        states = pd.DataFrame(approvals.table(con, reg, reg.quarters[-1]))
        arrived = con.execute("""
            SELECT country, quarter, reporter AS organisation, received_at, uploaded_by,
                   (SELECT count(*) FROM findings f WHERE f.submission_id = s.submission_id) AS warnings
            FROM current_submissions s""").df()
    merged = states.merge(arrived, on=["country", "quarter", "organisation"], how="left")
    return merged.astype(object).where(merged.notna(), None)  # what is missing is None, never NaN


@data.kept
def _report(country: str, quarter: str) -> list[dict]:
    """Each version of a country's quarter (versions.report) with its cover's notes and its
    warnings (rule, sheet, cell, message, fix)."""
    reg = registry.get()
    notes = reg.cover_field("notes")
    with data.reading() as con:
        report = versions.report(con, reg, country, quarter)
        warned = con.execute("""
            SELECT f.submission_id, f.sheet, f.cell AS at_cell, f.rule,
                   coalesce(nullif(concat_ws('!', f.sheet, f.cell), ''), '–') AS cell, f.message, f.fix,
                   f.value, f.sheet_id, f.field, f.params
            FROM findings f JOIN submissions s USING (submission_id)
            WHERE s.country = ? AND s.quarter = ? ORDER BY f.sheet, f.cell""", [country, quarter]).df()
        said = dict(con.execute(f"SELECT submission_id, {notes} FROM {reg.cover.id} "
                                "WHERE country = ? AND quarter = ?", [country, quarter]).fetchall()
                    ) if notes else {}
    return [{**v, "notes": said.get(v["submission_id"]),
             "findings": warned[warned["submission_id"] == v["submission_id"]].to_dict("records")}
            for v in report]


def _queue(states: pd.DataFrame) -> html.Div:
    """The keys waiting for a decision, oldest first, each linking to its review."""
    waiting = states[states["state"].isin(WAITING)].sort_values("received_at")
    if waiting.empty:
        return html.P(_("✔ Nothing waits for a decision."), className="ok")
    rows = [{"submission": [dcc.Link(f"{i18n.country(r.country)} {r.quarter}",
                                     href=f"/review{ui.query(country=r.country, quarter=r.quarter)}"),
                            *([html.Br(), r.organisation] if r.organisation else [])],
             "version": i18n.number(r.version), "received": _minute(r.received_at),
             "uploaded_by": r.uploaded_by or _("not recorded"), "warnings": i18n.number(r.warnings),
             "state": f"{SYMBOLS[r.state]} {i18n.word(r.state)}"} for r in waiting.itertuples()]
    return html.Div([html.P(_("{count} submission(s), the oldest first.", count=i18n.number(len(rows))),
                            className="muted"),
                     _table(QUEUE, rows, "review-queue-table")])


def _view(country: str, quarter: str, states: pd.DataFrame) -> list:
    """A country's quarter: where it stands (its keys, the decision form, the decisions taken)
    and every version received."""
    title = html.H2(f"{i18n.country(country)} {quarter}", id="review-title")
    if _received(states, country, quarter).empty:
        return [title, html.P(_("Nothing has been received for this quarter yet."), className="muted")]
    return [title, html.Div(_status(country, quarter, states), id="review-status"),
            _versions(country, quarter)]


def _received(states: pd.DataFrame, country: str, quarter: str) -> pd.DataFrame:
    """The keys of a country's quarter that have a current version (none: nothing received)."""
    return states[(states["country"] == country) & (states["quarter"] == quarter)
                  & states["version"].notna()]


def _status(country: str, quarter: str, states: pd.DataFrame, said: list[str] = ()) -> list:
    """The state of each key of the quarter, the decision form with what the last decision said,
    and the decisions taken so far."""
    rows = _received(states, country, quarter)
    keys = [approvals.Key(country, quarter, reporter) for reporter in rows["organisation"]]
    return [_keys(rows), _form(rows, said), _decisions(approvals.decisions(keys))]


def _keys(rows: pd.DataFrame) -> html.Ul:
    """Each key's current version and state in words, with its last decision (who, when, why)."""
    return html.Ul([html.Li([html.Strong(
        _("{organisation}: version {version}", organisation=r.organisation, version=int(r.version))
        if r.organisation else _("Version {version}", version=int(r.version))), " ", _state(r.state),
                             *_last(r)]) for r in rows.itertuples()],
                   className="review-keys", id="review-keys")


def _last(row) -> list:
    """A key's last decision: " — by manager on 2022-10-05 14:03 UTC: “why”", naming the
    decision and its version when the key has moved on since (a new version after a return)."""
    if not row.decided_action:
        return []
    decided = approvals.ACTIONS[row.decided_action]
    said = _("by {actor} on {time} UTC", actor=row.decided_actor, time=_minute(row.decided_at)) \
        if decided == row.state else \
        _("{decision} version {version} by {actor} on {time} UTC", decision=i18n.word(decided),
          version=int(row.decided_version), actor=row.decided_actor, time=_minute(row.decided_at))
    why = [": “", row.decided_reason, "”"] if row.decided_reason else []
    return [f" — {said}", *why]


def _form(rows: pd.DataFrame, said: list[str]) -> html.Div:
    """Approve or return what waits (a return needs a reason, an approval may carry a comment),
    reopen what was approved (with a reason): buttons that do not apply to any key are hidden,
    and so is the form when none applies."""
    states = set(rows["state"])
    organisations = [o for o in rows["organisation"] if o]
    allowed = {action: bool(states & set(approvals.ALLOWED[action])) for action in BUTTONS}
    controls = html.Div([
        html.Label([_("Organisation"), dcc.Dropdown(
            id="review-organisation", value="", clearable=False, searchable=False,
            options=[{"label": _("Every organisation"), "value": ""},
                     *({"label": o, "value": o} for o in organisations)])],
            className="picker-label", hidden=len(organisations) < 2),
        html.Label([_("Reason: a return or a reopening needs one (the partner reads it); an "
                      "approval may carry a comment"),
                    dcc.Textarea(id="review-reason", maxLength=REASON_MAX, className="review-reason")],
                   className="picker-label"),
        html.Div([html.Button(i18n.word(label), id=f"review-{action}", className=f"download review-{action}",
                              hidden=not allowed[action]) for action, label in BUTTONS.items()],
                 className="downloads"),
    ], className="review-controls", hidden=not any(allowed.values()))
    waiting = html.P(_("Nothing to decide until the partner sends a corrected workbook."),
                     className="muted") if not any(allowed.values()) else None
    return html.Div([controls, waiting, html.Div([html.P(line) for line in said],
                                                 id="review-result", role="status")],
                    className="review-form")


def _decisions(decided: list[dict]) -> html.Div:
    """Every decision taken on the quarter, newest first."""
    if not decided:
        return html.P(_("No decision taken yet."), className="muted")
    rows = [{"at": _minute(d["at"]), "decision": i18n.word(approvals.ACTIONS[d["action"]]),
             "organisation": d["key"].reporter or "–", "version": i18n.number(d["version"]),
             "actor": d["actor"], "reason": d["reason"] or ""} for d in reversed(decided)]
    return html.Div([html.H3(_("Decisions")), _table(DECISIONS, rows, "review-decisions")])


def _versions(country: str, quarter: str) -> html.Div:
    """Every version received for the quarter, by organisation, newest first."""
    report = _report(country, quarter)
    remarks = finding_notes.by_finding()  # read afresh: notes are kept beside the database, not in it
    for finding in (f for v in report for f in v["findings"]):
        raw = {**finding, "cell": finding["at_cell"]}
        finding["message"], finding["fix"] = tables.localised(raw)
        finding["said"] = tables.noted(remarks.get(finding_notes.Finding.of(raw), [])) or "–"
    current = {v["reporter"]: v["version"] for v in report}  # oldest first: the last one stays
    return html.Div([html.H3(_("Versions received ({count})", count=i18n.number(len(report)))),
                     *(_version(v, country, v["version"] == current[v["reporter"]])
                       for v in sorted(report, key=lambda v: (v["reporter"], -v["version"])))])


def _version(v: dict, country: str, current: bool) -> html.Section:
    """One version: its file, who sent it and when, the cover's notes, its warnings, the cells
    changed since its organisation's previous version and its effect on the KPIs."""
    title = " · ".join(filter(None, [_("Version {version}", version=v["version"]), v["organisation"],
                                     _("current") if current else _("superseded")]))
    notes = [_("Notes on the cover:") + " ", html.Q(v["notes"])] if v["notes"] \
        else _("No notes on the cover.")
    received = _minute(v["received_at"])
    return html.Section([
        html.H4(title),
        html.P(_("{file}, received {time}, uploaded by {user}.", file=v["file_name"], time=received,
                 user=v["uploaded_by"]) if v["uploaded_by"] else
               _("{file}, received {time}, uploader not recorded.", file=v["file_name"], time=received),
               className="muted"),
        html.P(notes, className="review-notes"),
        _findings(v["findings"]),
        _changes(v),
        _effect(v["kpi_effect"], country),
    ], className="review-version")


def _findings(found: list[dict]) -> html.Div:
    """A version's warnings, each with its cell, what is wrong and how to fix it."""
    if not found:
        return html.P(_("No warnings."), className="ok")
    return html.Div([html.H5(_("Warnings ({count})", count=i18n.number(len(found)))),
                     _table(FINDINGS, found, className="review-findings")])


def _changes(v: dict) -> html.Div:
    """The cells whose value differs from the organisation's previous version."""
    if v["version"] == 1:
        return html.P(_("First version: nothing to compare with."), className="muted")
    if not v["changed_cells"]:
        return html.P(_("No cell changed since version {version}.", version=v["version"] - 1),
                      className="muted")
    empty = _("(empty)")
    rows = [{**c, "where": f"{c['sheet']}!{c['cell']}", "id": c["id"] or "–",
             "field": _field(c["sheet"], c["field"]),
             "before": c["before"] or empty, "after": c["after"] or empty}
            for c in v["changed_cells"]]
    return html.Div([html.H5(_("Cells changed since version {version} ({count})", version=v["version"] - 1,
                               count=i18n.number(len(rows)))),
                     _table(CHANGES, rows, className="review-changes")])


def _effect(effects: list[dict], country: str) -> html.Div:
    """What the version changed in each KPI of the country and of the whole project, as of its
    quarter: before → after, the KPIs it left unchanged left out."""
    reg = registry.get()
    rows = [{"kpi": i18n.kpi(reg.kpi(e["kpi"])), "where": i18n.country(country) if e["country"]
             else _("Whole project"), "before": ui.number(e["before"]), "after": ui.number(e["after"]),
             "change": _signed(e["change"])}
            for e in effects if e["change"] != 0]
    if not rows:
        return html.P(_("No KPI changed."), className="muted")
    return html.Div([html.H5(_("Effect on the KPIs")), _table(EFFECTS, rows, className="review-effect")])


def _field(sheet_name: str, field_id: str) -> str:
    """A changed cell's field as the template labels it in the reader's language (its sheet
    found by the name the workbook gave it), else its id."""
    for sheet in registry.get().template.sheets:
        if sheet_name in sheet.labels.values() and any(f.id == field_id for f in sheet.fields):
            return sheet.field(field_id).label(i18n.lang())
    return field_id


def _signed(change: float | None) -> str:
    """A change with its sign, as the reader's language writes numbers: +1,000 or -12."""
    if change is None or pd.isna(change):
        return "–"
    return ("+" if change >= 0 else "-") + i18n.number(abs(change))


def _table(columns: dict[str, str], rows: list[dict], id: str | None = None,
           className: str = "") -> html.Div:
    """A small table; a phone shows each row as a block, each value with its column's name."""
    columns = {field: i18n.word(label) for field, label in columns.items()}
    head = html.Thead(html.Tr([html.Th(label, scope="col") for label in columns.values()]))
    body = html.Tbody([html.Tr([html.Td(row[field], **{"data-label": label})
                                for field, label in columns.items()]) for row in rows])
    table = html.Table([head, body], className=f"grid stacked {className}".strip(),
                       **({"id": id} if id else {}))
    return html.Div(table, className="table-scroll")


def _state(state: str) -> html.Span:
    """A review state in words, with its symbol."""
    return html.Span([html.Span(SYMBOLS[state], **{"aria-hidden": "true"}), f" {i18n.word(state)}"],
                     className=f"review-state review-state-{state}")


def _minute(value: object) -> str:
    """A time to the minute, as "2022-10-05 14:03"."""
    return str(value)[:16].replace("T", " ")


def _chosen(value: object) -> tuple[str, str, dict[str, int]] | None:
    """The country and quarter a decision is for and the version of each organisation the page
    showed, if the page sent a quarter of the project's."""
    if not isinstance(value, dict):
        return None
    reg = registry.get()
    country, quarter, shown = value.get("country"), value.get("quarter"), value.get("versions")
    known = (isinstance(country, str) and country in {c.code for c in reg.countries}
             and isinstance(quarter, str) and quarter in reg.quarters and isinstance(shown, dict))
    return (country, quarter, shown) if known else None


def _decide(action: str, country: str, quarter: str, shown: dict[str, int], organisation: str,
            reason: str, user) -> tuple[list[str], bool]:
    """Record a decision on the chosen organisation's current version, or on each organisation's:
    one line each, with the new state or why the decision does not apply (a version newer than
    the page shows is never decided unseen); and whether any was recorded."""
    with data.reading() as con:
        current = approvals.current(con, country, quarter)
    keys = sorted((k for k in current if not organisation or k.reporter == organisation),
                  key=lambda k: k.reporter)
    if not keys:
        return [_("No accepted workbook for {country} {quarter}: nothing to decide.", country=country,
                  quarter=quarter)], False
    lines, recorded = [], False
    for key in keys:
        if shown.get(key.reporter) != current[key]:
            lines.append(_("{key} has version {version} now, received since this page was opened: "
                           "reload the page to review it.", key=key, version=current[key]))
            continue
        try:
            now = approvals.decide(action, key, current[key], user.username, reason,
                                   address=auth.address())
            lines.append(_("{key} version {version}: {state}.", key=key, version=current[key],
                           state=i18n.word(now)))
            recorded = True
        except approvals.DecisionError as exc:
            lines.append(_refused(action, key, current[key], reason) or str(exc))
    return lines, recorded


def _refused(action: str, key: approvals.Key, version: int, reason: str) -> str | None:
    """Why approvals.decide refused a decision, in the reader's language: a reason missing, or
    the key's state not allowing it (None for anything else)."""
    if action in NEEDS_REASON and not reason.strip():
        return i18n.word(NEEDS_REASON[action]).format(key=key)
    now = approvals.state(version, approvals.latest([key]).get(key))
    if action in NOT_NOW and now not in approvals.ALLOWED[action]:
        return i18n.word(NOT_NOW[action]).format(key=key, state=i18n.word(now))
    return None


@callback(Output("review-status", "children"), Output("review-queue", "children"),
          *(Input(f"review-{action}", "n_clicks") for action in BUTTONS),
          State("review-chosen", "data"), State("review-organisation", "value"),
          State("review-reason", "value"), prevent_initial_call=True)
def _decided(*values):
    """A button pressed: the decision recorded, where the quarter stands shown again with what
    the decision did, and the queue when it changed."""
    *_clicks, chosen, organisation, reason = values
    action = str(ctx.triggered_id or "").removeprefix("review-")
    key, user = _chosen(chosen), auth.current()
    if action not in BUTTONS or key is None or user is None:
        return no_update, no_update
    said, recorded = _decide(action, *key, organisation if isinstance(organisation, str) else "",
                             reason[:REASON_MAX] if isinstance(reason, str) else "", user)
    if recorded:
        notify.soon()  # the partner hears of a return or an approval within a minute
    states = _states()
    return _status(*key[:2], states, said), _queue(states) if recorded else no_update


ui.filters_in_url("review", country="review-country", quarter="review-quarter")

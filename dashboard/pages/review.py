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

from dashboard import auth, data, ui
from pipelines import notify
from pipelines.access import approvals, finding_notes
from pipelines.declaration import registry
from pipelines.marts import versions

dash.register_page(__name__, path="/review", name="Review", title="Review and approval", order=6.5)

WAITING = ("submitted", "reopened")
BUTTONS = {"approve": "Approve", "return": "Return to the partner", "reopen": "Reopen"}
SYMBOLS = {"submitted": "●", "returned": "↩", "approved": "✔", "reopened": "↻"}
REASON_MAX = 1000
QUEUE = {"submission": "Submission", "version": "Version", "received": "Received",
         "uploaded_by": "Uploaded by", "warnings": "Warnings", "state": "State"}
DECISIONS = {"at": "When (UTC)", "decision": "Decision", "organisation": "Organisation",
             "version": "Version", "actor": "By", "reason": "Reason"}
FINDINGS = {"rule": "Rule", "cell": "Cell", "message": "Message", "fix": "Fix", "said": "Said"}
CHANGES = {"where": "Cell", "id": "Row", "field": "Field", "before": "Before", "after": "After"}
EFFECTS = {"kpi": "KPI", "where": "Where", "before": "Before", "after": "After", "change": "Change"}


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
            "Review and approval",
            ui.picker("review-country", "Country", ui.country_options(reg), country,
                      clearable=True, placeholder="Pick a country"),
            ui.picker("review-quarter", "Quarter", reg.quarters, quarter,
                      clearable=True, placeholder="Pick a quarter")),
        html.Section(_view(country, quarter, states) if chosen else html.P(
            "Pick a submission from the queue to review it, or a country and a quarter to read "
            "its history.", className="muted"), id="review-view", className="panel"),
        html.Section([html.H2("Waiting for a decision"), html.Div(_queue(states), id="review-queue")],
                     className="panel"),
        _mail(),
    ], className="review")


def _mail() -> html.P:
    """Whether partners are told of the decisions by e-mail (pipelines/notify)."""
    sent, sentence = notify.configured()
    return html.P(("Partners are told of each decision by e-mail, in their language. " if sent else "")
                  + sentence, className="muted" if sent else "note", id="review-mail")


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
                   coalesce(nullif(concat_ws('!', f.sheet, f.cell), ''), '–') AS cell, f.message, f.fix
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
        return html.P("✔ Nothing waits for a decision.", className="ok")
    reg = registry.get()
    rows = [{"submission": [dcc.Link(f"{reg.country(r.country).name} ({r.country}) {r.quarter}",
                                     href=f"/review{ui.query(country=r.country, quarter=r.quarter)}"),
                            *([html.Br(), r.organisation] if r.organisation else [])],
             "version": int(r.version), "received": _minute(r.received_at),
             "uploaded_by": r.uploaded_by or "not recorded", "warnings": int(r.warnings),
             "state": f"{SYMBOLS[r.state]} {r.state}"} for r in waiting.itertuples()]
    return html.Div([html.P(f"{len(rows):,} submission(s), the oldest first.", className="muted"),
                     _table(QUEUE, rows, "review-queue-table")])


def _view(country: str, quarter: str, states: pd.DataFrame) -> list:
    """A country's quarter: where it stands (its keys, the decision form, the decisions taken)
    and every version received."""
    reg = registry.get()
    title = html.H2(f"{reg.country(country).name} ({country}) {quarter}", id="review-title")
    if _received(states, country, quarter).empty:
        return [title, html.P("Nothing has been received for this quarter yet.", className="muted")]
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
    return html.Ul([html.Li([html.Strong(f"{r.organisation}: version {int(r.version)}" if r.organisation
                                         else f"Version {int(r.version)}"), " ", _state(r.state),
                             *_last(r)]) for r in rows.itertuples()],
                   className="review-keys", id="review-keys")


def _last(row) -> list:
    """A key's last decision: " — by manager on 2022-10-05 14:03 UTC: “why”", naming the
    decision and its version when the key has moved on since (a new version after a return)."""
    if not row.decided_action:
        return []
    decided = approvals.ACTIONS[row.decided_action]
    what = "" if decided == row.state else f"{decided} version {int(row.decided_version)} "
    why = [": “", row.decided_reason, "”"] if row.decided_reason else []
    return [f" — {what}by {row.decided_actor} on {_minute(row.decided_at)} UTC", *why]


def _form(rows: pd.DataFrame, said: list[str]) -> html.Div:
    """Approve or return what waits (a return needs a reason, an approval may carry a comment),
    reopen what was approved (with a reason): buttons that do not apply to any key are hidden,
    and so is the form when none applies."""
    states = set(rows["state"])
    organisations = [o for o in rows["organisation"] if o]
    allowed = {action: bool(states & set(approvals.ALLOWED[action])) for action in BUTTONS}
    controls = html.Div([
        html.Label(["Organisation", dcc.Dropdown(
            id="review-organisation", value="", clearable=False, searchable=False,
            options=[{"label": "Every organisation", "value": ""},
                     *({"label": o, "value": o} for o in organisations)])],
            className="picker-label", hidden=len(organisations) < 2),
        html.Label(["Reason: a return or a reopening needs one (the partner reads it); an "
                    "approval may carry a comment",
                    dcc.Textarea(id="review-reason", maxLength=REASON_MAX, className="review-reason")],
                   className="picker-label"),
        html.Div([html.Button(label, id=f"review-{action}", className=f"download review-{action}",
                              hidden=not allowed[action]) for action, label in BUTTONS.items()],
                 className="downloads"),
    ], className="review-controls", hidden=not any(allowed.values()))
    waiting = html.P("Nothing to decide until the partner sends a corrected workbook.",
                     className="muted") if not any(allowed.values()) else None
    return html.Div([controls, waiting, html.Div([html.P(line) for line in said],
                                                 id="review-result", role="status")],
                    className="review-form")


def _decisions(decided: list[dict]) -> html.Div:
    """Every decision taken on the quarter, newest first."""
    if not decided:
        return html.P("No decision taken yet.", className="muted")
    rows = [{"at": _minute(d["at"]), "decision": approvals.ACTIONS[d["action"]],
             "organisation": d["key"].reporter or "–", "version": d["version"], "actor": d["actor"],
             "reason": d["reason"] or ""} for d in reversed(decided)]
    return html.Div([html.H3("Decisions"), _table(DECISIONS, rows, "review-decisions")])


def _versions(country: str, quarter: str) -> html.Div:
    """Every version received for the quarter, by organisation, newest first."""
    report = _report(country, quarter)
    remarks = finding_notes.by_finding()  # read afresh: notes are kept beside the database, not in it
    for finding in (f for v in report for f in v["findings"]):
        said = remarks.get(finding_notes.Finding.of({**finding, "cell": finding["at_cell"]}), [])
        finding["said"] = finding_notes.summary(said) or "–"
    current = {v["reporter"]: v["version"] for v in report}  # oldest first: the last one stays
    return html.Div([html.H3(f"Versions received ({len(report)})"),
                     *(_version(v, country, v["version"] == current[v["reporter"]])
                       for v in sorted(report, key=lambda v: (v["reporter"], -v["version"])))])


def _version(v: dict, country: str, current: bool) -> html.Section:
    """One version: its file, who sent it and when, the cover's notes, its warnings, the cells
    changed since its organisation's previous version and its effect on the KPIs."""
    title = " · ".join(filter(None, [f"Version {v['version']}", v["organisation"],
                                     "current" if current else "superseded"]))
    notes = ["Notes on the cover: ", html.Q(v["notes"])] if v["notes"] else "No notes on the cover."
    return html.Section([
        html.H4(title),
        html.P(f"{v['file_name']}, received {_minute(v['received_at'])}, " + (
            f"uploaded by {v['uploaded_by']}." if v["uploaded_by"] else "uploader not recorded."),
            className="muted"),
        html.P(notes, className="review-notes"),
        _findings(v["findings"]),
        _changes(v),
        _effect(v["kpi_effect"], country),
    ], className="review-version")


def _findings(found: list[dict]) -> html.Div:
    """A version's warnings, each with its cell, what is wrong and how to fix it."""
    if not found:
        return html.P("No warnings.", className="ok")
    return html.Div([html.H5(f"Warnings ({len(found)})"),
                     _table(FINDINGS, found, className="review-findings")])


def _changes(v: dict) -> html.Div:
    """The cells whose value differs from the organisation's previous version."""
    if v["version"] == 1:
        return html.P("First version: nothing to compare with.", className="muted")
    if not v["changed_cells"]:
        return html.P(f"No cell changed since version {v['version'] - 1}.", className="muted")
    rows = [{**c, "where": f"{c['sheet']}!{c['cell']}", "id": c["id"] or "–",
             "before": c["before"] or "(empty)", "after": c["after"] or "(empty)"}
            for c in v["changed_cells"]]
    return html.Div([html.H5(f"Cells changed since version {v['version'] - 1} ({len(rows)})"),
                     _table(CHANGES, rows, className="review-changes")])


def _effect(effects: list[dict], country: str) -> html.Div:
    """What the version changed in each KPI of the country and of the whole project, as of its
    quarter: before → after, the KPIs it left unchanged left out."""
    reg = registry.get()
    rows = [{"kpi": reg.kpi(e["kpi"]).label, "where": reg.country(country).name if e["country"]
             else "Whole project", "before": ui.number(e["before"]), "after": ui.number(e["after"]),
             "change": f"{e['change']:+,.0f}" if pd.notna(e["change"]) else "–"}
            for e in effects if e["change"] != 0]
    if not rows:
        return html.P("No KPI changed.", className="muted")
    return html.Div([html.H5("Effect on the KPIs"), _table(EFFECTS, rows, className="review-effect")])


def _table(columns: dict[str, str], rows: list[dict], id: str | None = None,
           className: str = "") -> html.Div:
    """A small table; a phone shows each row as a block, each value with its column's name."""
    head = html.Thead(html.Tr([html.Th(label, scope="col") for label in columns.values()]))
    body = html.Tbody([html.Tr([html.Td(row[field], **{"data-label": label})
                                for field, label in columns.items()]) for row in rows])
    table = html.Table([head, body], className=f"grid stacked {className}".strip(),
                       **({"id": id} if id else {}))
    return html.Div(table, className="table-scroll")


def _state(state: str) -> html.Span:
    """A review state in words, with its symbol."""
    return html.Span([html.Span(SYMBOLS[state], **{"aria-hidden": "true"}), f" {state}"],
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
        return [f"No accepted workbook for {country} {quarter}: nothing to decide."], False
    lines, recorded = [], False
    for key in keys:
        if shown.get(key.reporter) != current[key]:
            lines.append(f"{key} has version {current[key]} now, received since this page was "
                         "opened: reload the page to review it.")
            continue
        try:
            now = approvals.decide(action, key, current[key], user.username, reason,
                                   address=auth.address())
            lines.append(f"{key} version {current[key]}: {now}.")
            recorded = True
        except approvals.DecisionError as exc:
            lines.append(str(exc))
    return lines, recorded


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

"""Submissions: who reported what and when — the country x quarter matrix of completeness and
timeliness, who is overdue now and since when, every version received and every rejected file.

A quarter's workbook is due `due_days_after_quarter` days after the quarter ends (indicators.yaml,
registry.due_date); its timeliness is that of the cover's "submitted on" date of its first
accepted version.
"""

from __future__ import annotations

import datetime as dt

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, data, downloads, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry

dash.register_page(__name__, path="/submissions", name="Submissions", title="Submissions",
                   order=5,
                   access="partner")


# the words of its tables, in the reader's language: their columns and values
WORDS = (N_("Partner"), N_("Reported by"), N_("Submitted on"), N_("Notes"), N_("Received at"),
         N_("Uploaded by"), N_("Current"), N_("Due"), N_("Days after due"), N_("Overdue since"),
         N_("Days overdue"), N_("Rejected files"), N_("Rejected at"), N_("First error"), N_("Sha256"),
         N_("current"), N_("superseded"), N_("not recorded"), N_("unknown"), N_("Days late"),
         N_("Organisations"))


def layout(**_query) -> html.Div:
    if data.latest_quarter() is None:
        return ui.no_data()
    today = dt.date.today()
    reg, subs, rejected = auth.scoped(registry.get(), data.submissions(), data.rejected())  # a partner's own
    matrix = tables.submission_matrix(subs, rejected, reg, today, data.review_states(reg.quarters[-1]))
    cells = {(r["country"], r["quarter"]): r for r in matrix.to_dict("records")}
    late = tables.overdue(matrix, today)
    user = auth.current()
    reviews = user is not None and user.has("manager")  # each cell leads to its history and review
    return html.Div([
        ui.page_head(_("Submissions: complete and on time?")),
        html.Section([
            html.H2(_("Country × quarter")),
            html.P(_("Due {days} days after the quarter ends; timeliness is that of the first accepted "
                     "version (the cover's “submitted on” date). Later versions supersede it. A quarter "
                     "the coordination approved is locked; one it returned awaits a corrected version.",
                     days=reg.project.due_days_after_quarter), className="muted"),
            html.Ul([html.Li(f"{symbol} {i18n.word(name)}") for name, symbol in
                     [*tables.SUBMISSION_STATUSES.values(), tables.SUPERSEDED]],
                    className="legend", **{"aria-label": _("Legend")}),
            ui.matrix("submissions-matrix", reg, lambda c, q: _cell(cells[(c, q)], reviews)),
            downloads.buttons("submissions-matrix-table", _matrix_rows(matrix)),
        ], className="panel"),
        html.Section([
            html.H2(_("Overdue now ({day})", day=i18n.date(today))),
            _overdue(late, reg),
        ], className="panel", id="submissions-overdue"),
        html.Section([html.H2(_("Every version received")),
                      ui.table("submissions-versions", _versions(subs, reg))],
                     className="panel"),
        html.Section([html.H2(_("Rejected files")), _rejected(rejected)], className="panel"),
    ])


def _cell(row: dict, reviews: bool) -> html.Td:
    """A country's quarter in words; for a manager, a link to its versions and decisions."""
    lines = tables.status_text(row).split(" · ")
    text = [part for line in lines for part in (html.Br(), line)][1:]
    if reviews and row["status"] not in ("missing", "not_due"):
        text = dcc.Link(text, href="/review" + ui.query(country=row["country"], quarter=row["quarter"]),
                        title=_("its versions, the cells they changed and the coordination's decisions"))
    return html.Td(html.Span(text, className=f"cell cell-{row['status']}",
                             title=_("due {day}", day=i18n.date(row["due"]))),
                   id=f"submissions-cell-{row['country']}-{row['quarter']}")


def _matrix_rows(matrix: pd.DataFrame) -> pd.DataFrame:
    rows = matrix.assign(status=[tables.status_text(r) for r in matrix.to_dict("records")])
    return rows.rename(columns=ui.header)  # downloaded under the headings of the reader's language


def _overdue(late: pd.DataFrame, reg) -> html.Div:
    if late.empty:
        return html.P(_("✔ Nobody is overdue."), className="ok")
    items = [html.Li([html.Strong(f"{i18n.country(r.country)} {r.quarter}"),
                      ": " + _("due {due}, overdue since {since} ({days} days)", due=i18n.date(r.due),
                               since=i18n.date(r.overdue_since), days=i18n.number(r.days_overdue))
                      + "; " + (_("{count} file(s) sent were rejected", count=r.rejected_files)
                                if r.rejected_files else _("nothing received"))],
                     id=f"submissions-overdue-{r.country}-{r.quarter}")
             for r in late.itertuples()]
    return html.Div([html.Ul(items), ui.table("submissions-overdue-table", late)])


def _versions(subs: pd.DataFrame, reg) -> pd.DataFrame:
    """Every accepted file; a version's lateness is measured on its own cover date."""
    frame = subs.drop(columns=["submission_id"]).copy()
    frame.insert(6, "due", [reg.due_date(q) for q in frame["quarter"]])
    sent = pd.to_datetime(frame["submitted_on"]).dt.date
    frame.insert(8, "days_after_due", [(s - d).days if pd.notna(s) else None
                                       for s, d in zip(sent, frame["due"], strict=True)])
    frame["current"] = [_("current") if c else f"{tables.SUPERSEDED[1]} " + _("superseded")
                        for c in frame["current"]]
    frame["uploaded_by"] = frame["uploaded_by"].fillna(_("not recorded"))
    return frame


def _rejected(rejected: list[dict]) -> html.Div:
    if not rejected:
        return html.P(_("No file has been rejected."), className="muted")
    frame = pd.DataFrame([{
        "file_name": r["file_name"], "country": r["country"] or _("unknown"),
        "quarter": r["quarter"] or _("unknown"), "rejected_at": r["rejected_at"],
        "errors": sum(f["severity"] == "error" for f in r["findings"]),
        "first_error": next((tables.localised(f)[0] for f in r["findings"] if f["severity"] == "error"),
                            ""),
        "sha256": r["sha256"]} for r in rejected])
    return html.Div([html.P(_("Their findings are on the Data quality page."), className="muted"),
                     ui.table("submissions-rejected", frame)])

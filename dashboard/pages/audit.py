"""Audit (admins): the accounts, and the audit trail of who uploaded, corrected, exported, logged
in or failed to, and changed an account: when and from which address. Read-only: nothing on this
page (nor anywhere in the app) edits the trail; accounts are changed with `mvh users`."""

from __future__ import annotations

import dash
import pandas as pd
from dash import html

from dashboard import ui
from pipelines.access import accounts

dash.register_page(__name__, path="/audit", name="Audit", title="Audit trail", order=11,
                   access="admin")

LIMIT = 5000


def layout(**_query) -> html.Div:
    trail = pd.DataFrame(accounts.audit(LIMIT),
                         columns=["id", "at", "actor", "action", "target", "address", "detail"])
    people = pd.DataFrame(accounts.users(),
                          columns=["username", "role", "country", "active", "created_at", "changed_at"])
    return html.Div([
        ui.page_head("Audit trail"),
        html.Section([
            html.H2(f"The latest {min(len(trail), LIMIT):,} events, newest first"),
            html.P("Times in UTC. Actions: login, login_failed, login_refused, logout, upload, "
                   "correct (a later version of a quarter), upload_rejected, upload_unchanged, "
                   "upload_queued, check, export, denied, account_added, account_disabled, "
                   "account_enabled, password_set; error: a request the server failed to answer "
                   "(its traceback is in the server's log).", className="muted"),
            ui.table("audit-trail", trail.rename(columns={"at": "when (UTC)"}), pinned=("when (UTC)",)),
        ], className="panel"),
        html.Section([
            html.H2("Accounts"),
            html.P("Add, disable or set a password with `mvh users` on the server.", className="muted"),
            ui.table("audit-accounts", people.assign(active=people["active"].map({1: "yes", 0: "no"}))),
        ], className="panel"),
    ])

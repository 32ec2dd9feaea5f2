"""Audit (admins): the accounts, and the audit trail of who uploaded, corrected, exported, logged
in or failed to, and changed an account: when and from which address. Read-only: nothing on this
page (nor anywhere in the app) edits the trail; accounts are changed with `mvh users`."""

from __future__ import annotations

import dash
import pandas as pd
from dash import html

from dashboard import i18n, ui
from dashboard.i18n import N_, _
from pipelines.access import accounts

dash.register_page(__name__, path="/audit", name="Audit", title="Audit trail", order=11,
                   access="admin")

LIMIT = 5000
# the words of its tables, in the reader's language: their columns and values
WORDS = (N_("Id"), N_("When (UTC)"), N_("Actor"), N_("Action"), N_("Target"), N_("Address"), N_("Detail"),
         N_("Username"), N_("Role"), N_("Active"), N_("Created at"), N_("Changed at"), N_("yes"), N_("no"))
ROLES = {"partner": N_("partner"), "manager": N_("manager"), "admin": N_("admin")}
# the actions of the trail in words (an action not named here shows as it is recorded)
ACTIONS = {
    "login": N_("login"), "login_failed": N_("login failed"),
    "login_refused": N_("login refused (logins paused)"),
    "login_throttled": N_("login throttled (too many failed logins)"), "logout": N_("logout"),
    "upload": N_("upload"), "correct": N_("correction (a later version of a quarter)"),
    "upload_rejected": N_("upload rejected"),
    "upload_unchanged": N_("upload unchanged (the same file again)"), "upload_queued": N_("upload queued"),
    "upload_failed": N_("upload failed (storage full or read-only)"),
    "check": N_("check only (nothing loaded)"), "export": N_("export"),
    "export_submitted": N_("export reported to the EU"),
    "denied": N_("refused (not allowed to this account)"),
    "account_added": N_("account added"), "account_disabled": N_("account disabled"),
    "account_enabled": N_("account enabled"), "account_unlocked": N_("account unlocked"),
    "password_set": N_("password set"), "email_set": N_("e-mail address set"),
    "quarter_approved": N_("quarter approved"), "quarter_returned": N_("quarter returned"),
    "quarter_reopened": N_("quarter reopened"), "warning_explained": N_("warning explained"),
    "warning_accepted": N_("warning accepted"),
    "warning_correction_asked": N_("correction asked for a warning"),
    "mail_sent": N_("e-mails sent"), "error": N_("error"),
}


def layout(**_query) -> html.Div:
    trail = pd.DataFrame(accounts.audit(LIMIT),
                         columns=["id", "at", "actor", "action", "target", "address", "detail"])
    people = pd.DataFrame(accounts.users(),
                          columns=["username", "role", "country", "active", "created_at", "changed_at"])
    trail["action"] = [i18n.word(ACTIONS[a]) if a in ACTIONS else a for a in trail["action"]]
    people = people.assign(active=people["active"].map({1: _("yes"), 0: _("no")}),
                           role=[i18n.word(ROLES[r]) if r in ROLES else r for r in people["role"]])
    return html.Div([
        ui.page_head(_("Audit trail")),
        html.Section([
            html.H2(_("The latest {count} events, newest first", count=i18n.number(min(len(trail), LIMIT)))),
            html.P(_("Times in UTC. An error is a request the server failed to answer (its traceback "
                     "is in the server's log)."), className="muted"),
            ui.table("audit-trail", trail.rename(columns={"at": "when (UTC)"}), pinned=("when (UTC)",)),
        ], className="panel"),
        html.Section([
            html.H2(_("Accounts")),
            html.P(_("Accounts are added, disabled and given a new password on the server, with its "
                     "command line."), className="muted"),
            ui.table("audit-accounts", people),
        ], className="panel"),
    ])

"""The Dash app: a thin shell with the navigation built from the page registry, for the user's role."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

import dash
import flask
from dash import Dash, dcc, html
from flask_wtf.csrf import generate_csrf

from dashboard import auth, data, failures, i18n
from dashboard.i18n import _
from pipelines.access import accounts
from pipelines.declaration import registry
from pipelines.store import db

HERE = Path(__file__).resolve().parent


class Monitor(Dash):
    """Dash whose HTML page speaks its reader's language: the browser tab's title (until the
    page's own, see `page_titles`) and the one the tab shows while the page updates."""

    def interpolate_index(self, **parts) -> str:
        parts["title"] = _("{project} – impact monitor", project=registry.get().project.name)
        return super().interpolate_index(**parts)

    def _config(self) -> dict:
        return {**super()._config(), "update_title": _("Updating...")}


def create_app() -> Dash:
    reg = registry.get()  # fail at start-up, with a hint, if indicators.yaml is malformed
    app = Monitor(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title=f"{reg.project.name} – impact monitor",
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=failures.failed,
    )
    # Dash sends an upload as base64 in one JSON request: refuse more than the largest workbook
    # accepted (20 MB, a third more once encoded) with 413 instead of reading it.
    app.server.config["MAX_CONTENT_LENGTH"] = 30 * 1024 * 1024
    auth.init(app.server)
    auth.guard_layouts()
    page_titles()
    failures.install(app)
    app.server.add_url_rule("/counting", "counting", switch_counting, methods=["POST"])
    app.server.add_url_rule("/language", "language", switch_language, methods=["POST"])
    app.layout = functools.partial(shell, reg)
    return app


def shell(reg) -> html.Div:
    """The frame of every page, for the user of the request: the pages they may open, who they
    are and a logout button. Empty of pages for the anonymous call Dash makes when it starts."""
    user = auth.current()
    account = html.Div([
        html.Span(f"{user.username} · {i18n.word(ROLES[user.role])}"
                  + (f" · {user.country}" if user.country else ""), id="account-name"),
        _language_menu(),
        _counting_switch(),
        html.Form([dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                   html.Button(_("Log out"), type="submit", id="logout")],
                  method="post", action="/logout"),
    ], className="account") if user else None
    return html.Div([
        html.A(_("Skip to content"), href="#main", className="skip-link"),
        html.Header([
            html.Div(html.Strong(_("{project} impact monitor", project=reg.project.name)),
                     className="brand"),
            html.Nav([dcc.Link(i18n.word(page["name"]), href=page["relative_path"], className="nav-link")
                      for page in auth.pages_for(user)], className="nav",
                     **{"aria-label": _("Pages")}),
            account,
        ], className="top", lang=i18n.lang()),
        html.Main([failures.notice(), _counting_notice(), dash.page_container], id="main", tabIndex="-1"),
        html.Footer(_("{fund} · grant {grant} · {start} – {end}", fund=reg.project.fund_in(i18n.lang()),
                      grant=reg.project.grant, start=i18n.date(reg.project.start),
                      end=i18n.date(reg.project.end)), className="foot"),
    ])


N_ = i18n.N_
ROLES = {"partner": N_("partner"), "manager": N_("manager"), "admin": N_("admin")}
# the pages' names as the navigation shows them (each page registers its English name)
PAGE_NAMES = (N_("Overview"), N_("Countries"), N_("Trends"), N_("Councils & Authorities"), N_("People"),
              N_("Submissions"), N_("Data quality"), N_("Review"), N_("Indicators"), N_("Provenance"),
              N_("Upload"), N_("EU export"), N_("Audit"))
# the browser tab's title of the pages whose title is not their name
PAGE_TITLES = (N_("Review and approval"), N_("Audit trail"), N_("Councils and Authorities"))


def page_titles() -> None:
    """Each page's title (the browser tab's) in the reader's language: Dash calls a page's
    `title` when it is a function, each time the page opens."""
    for page in dash.page_registry.values():
        if isinstance(page["title"], str):
            page["title"] = functools.partial(i18n.word, page["title"])


def _language_menu() -> html.Form:
    """The reader's language, each written in its own script; a form, like the other switches."""
    return html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
        html.Label(_("Language"), htmlFor="language-choice", className="visually-hidden"),
        html.Select([html.Option(i18n.name(code), value=code, lang=code, selected=code == i18n.lang())
                     for code in i18n.languages()], id="language-choice", name="lang",
                    className="language-choice"),
        html.Button(_("Show"), type="submit", id="language-button"),
    ], method="post", action="/language", className="language")


def switch_language():
    """POST /language: the reader's language, kept in their account (and session), then back to
    the page."""
    chosen = flask.request.form.get("lang")
    user = auth.current()
    if chosen in i18n.languages():
        flask.session["lang"] = chosen
        if user is not None and user.lang != chosen:
            accounts.set_lang(user.username, chosen, registry.get())
    return _back()


def _counting_switch() -> html.Form:
    """The switch between counting every current version and approved quarters only; a form, so
    it works the same on every page and keeps the reader's choice in their session."""
    on = data.approved_only()
    return html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
        html.Button(_("Approved data only: on") if on else _("Approved data only: off"), type="submit",
                    id="counting-switch", className="switch" + (" on" if on else ""),
                    title=_("Count approved quarters only (KPIs, their rows, entities and export)"),
                    **{"aria-pressed": "true" if on else "false"}),
    ], method="post", action="/counting")


def _counting_notice() -> html.P | None:
    if not data.approved_only():
        return None
    try:
        approved, versions = data.approved_share()
        share = " " + _("({approved} of {versions} current versions are approved)",
                        approved=i18n.number(approved), versions=i18n.number(versions))
    except db.NoDatabase:
        share = ""
    return html.P(_("Counting approved quarters only{share}: quarters still submitted, returned or "
                    "reopened are left out of the KPIs and their rows. Participant registers are "
                    "counted in full (they are not reviewed).", share=share),
                  className="counting", id="counting-notice")


def switch_counting():
    """POST /counting: turn approved data only on or off for this reader, and go back to the page."""
    flask.session["approved_only"] = not flask.session.get("approved_only", False)
    return _back()


def _back():
    """A redirection to the page the form was sent from (a path of this site only)."""
    back = urlsplit(flask.request.referrer or "/")
    same_site = not back.netloc or back.netloc == flask.request.host
    target = (back.path or "/") + (f"?{back.query}" if back.query else "") if same_site else "/"
    return flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")

"""The Dash app: a thin shell with the navigation built from the page registry, for the user's role."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

import dash
import flask
from dash import Dash, dcc, html
from flask_wtf.csrf import generate_csrf

from dashboard import auth, data, failures
from pipelines.declaration import registry
from pipelines.store import db

HERE = Path(__file__).resolve().parent


def create_app() -> Dash:
    reg = registry.get()  # fail at start-up, with a hint, if indicators.yaml is malformed
    app = Dash(
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
    failures.install(app)
    app.server.add_url_rule("/counting", "counting", switch_counting, methods=["POST"])
    app.layout = functools.partial(shell, reg)
    return app


def shell(reg) -> html.Div:
    """The frame of every page, for the user of the request: the pages they may open, who they
    are and a logout button. Empty of pages for the anonymous call Dash makes when it starts."""
    user = auth.current()
    account = html.Div([
        html.Span(f"{user.username} · {user.role}" + (f" · {user.country}" if user.country else ""),
                  id="account-name"),
        _counting_switch(),
        html.Form([dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                   html.Button("Log out", type="submit", id="logout")],
                  method="post", action="/logout"),
    ], className="account") if user else None
    return html.Div([
        html.A("Skip to content", href="#main", className="skip-link"),
        html.Header([
            html.Div([html.Strong(reg.project.name), html.Span(" impact monitor")],
                     className="brand"),
            html.Nav([dcc.Link(page["name"], href=page["relative_path"], className="nav-link")
                      for page in auth.pages_for(user)], className="nav",
                     **{"aria-label": "Pages"}),
            account,
        ], className="top"),
        html.Main([failures.notice(), _counting_notice(), dash.page_container], id="main", tabIndex="-1"),
        html.Footer(f"{reg.project.fund} · grant {reg.project.grant} · "
                    f"{reg.project.start:%d %b %Y} – {reg.project.end:%d %b %Y}", className="foot"),
    ])


def _counting_switch() -> html.Form:
    """The switch between counting every current version and approved quarters only; a form, so
    it works the same on every page and keeps the reader's choice in their session."""
    on = data.approved_only()
    return html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
        html.Button("Approved data only: on" if on else "Approved data only: off", type="submit",
                    id="counting-switch", className="switch" + (" on" if on else ""),
                    title="Count approved quarters only (KPIs, their rows, entities and export)",
                    **{"aria-pressed": "true" if on else "false"}),
    ], method="post", action="/counting")


def _counting_notice() -> html.P | None:
    if not data.approved_only():
        return None
    try:
        approved, versions = data.approved_share()
        share = f" ({approved:,} of {versions:,} current versions are approved)"
    except db.NoDatabase:
        share = ""
    return html.P([f"Counting approved quarters only{share}: quarters still submitted, returned or "
                   "reopened are left out of the KPIs and their rows. Participant registers are "
                   "counted in full (they are not reviewed)."], className="counting", id="counting-notice")


def switch_counting():
    """POST /counting: turn approved data only on or off for this reader, and go back to the page."""
    flask.session["approved_only"] = not flask.session.get("approved_only", False)
    back = urlsplit(flask.request.referrer or "/")
    same_site = not back.netloc or back.netloc == flask.request.host
    target = (back.path or "/") + (f"?{back.query}" if back.query else "") if same_site else "/"
    return flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")

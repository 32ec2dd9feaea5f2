"""The Dash app: a thin shell with the navigation built from the page registry, for the user's role,
and the last resort of a request that fails: a short message, never a 500 with a traceback."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import dash
import flask
from dash import Dash, Input, Output, dcc, html
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException

from dashboard import auth
from pipelines import registry

HERE = Path(__file__).resolve().parent
FAILED = "Something went wrong; the coordination has been told."
NOTICE = {"app-error": {"children": FAILED, "className": "note"}}  # shown at the top of the page
CALLBACKS = "/_dash-update-component"
log = logging.getLogger(__name__)


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
        on_error=_failed,
    )
    # Dash sends an upload as base64 in one JSON request: refuse more than the largest workbook
    # accepted (20 MB, a third more once encoded) with 413 instead of reading it.
    app.server.config["MAX_CONTENT_LENGTH"] = 30 * 1024 * 1024
    auth.init(app.server)
    auth.guard_layouts()
    app.server.register_error_handler(Exception, _unanswered)
    app.server.before_request(functools.partial(_refused, app))
    app.layout = functools.partial(shell, reg)
    # a new page clears the message of a callback that failed on the page before
    app.clientside_callback("() => [null, null]", Output("app-error", "children"),
                            Output("app-error", "className"), Input("_pages_location", "pathname"))
    return app


def _refused(app: Dash):
    """A callback request that Dash would fail on is refused with 400 before it runs: one whose
    output no server callback has (clientside callbacks never reach the server), and one that
    gives the page router anything but the URL's path (starting with /) and query as text."""
    if flask.request.method != "POST" or not flask.request.path.endswith(CALLBACKS):
        return None
    body = flask.request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    output = body.get("output")
    if not isinstance(output, str) or "callback" not in app.callback_map.get(output, {}):
        return flask.jsonify(error="This request matches no callback of the page: reload the "
                                   "page."), 400
    inputs = body.get("inputs") if isinstance(body.get("inputs"), list) else []
    given = {i.get("property"): i.get("value") for i in inputs if isinstance(i, dict)}
    path, search = given.get("pathname"), given.get("search")
    if "_pages_content" in output and not (isinstance(path, str) and path.startswith("/")
                                           and isinstance(search, str | None)):
        return flask.jsonify(error="Refused: a page's address is a path and a query, as text. "
                                   "Reload the page."), 400
    return None


def _told(error: Exception, where: str) -> None:
    """Into the server's log with its traceback, and into the audit trail the admins read."""
    log.error("%s failed", where, exc_info=error)
    try:
        auth.audit("error", where[:200], f"{type(error).__name__}: {error}"[:300])
    except Exception:  # the trail itself may be what fails (a full or read-only disk)
        log.exception("the audit trail could not record the failure of %s", where)


def _failed(error: Exception) -> None:
    """The last resort of every callback: the user sees a short message at the top of the page
    instead of a 500 with a traceback; the outputs keep what they showed."""
    _told(error, "callback " + ", ".join(
        f"{o.get('id')}.{o.get('property')}" for o in _flat(dash.ctx.outputs_list)))
    dash.set_props("app-error", dict(NOTICE["app-error"]))


def _flat(outputs) -> list[dict]:
    items = outputs if isinstance(outputs, list) else [outputs]
    return [o for item in items for o in (_flat(item) if isinstance(item, list) else [item])
            if isinstance(o, dict)]


def _unanswered(error: Exception):
    """The last resort of any other request: logged and told; a callback's answer carries the
    same message as one that failed in its function, other requests get it as plain text."""
    if isinstance(error, HTTPException):
        return error
    _told(error, f"{flask.request.method} {flask.request.path}")
    if flask.request.path.endswith(CALLBACKS):
        return flask.jsonify(multi=True, response={}, sideUpdate=NOTICE)
    return flask.Response(FAILED, status=500, mimetype="text/plain")


def shell(reg) -> html.Div:
    """The frame of every page, for the user of the request: the pages they may open, who they
    are and a logout button. Empty of pages for the anonymous call Dash makes when it starts."""
    user = auth.current()
    account = html.Div([
        html.Span(f"{user.username} · {user.role}" + (f" · {user.country}" if user.country else ""),
                  id="account-name"),
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
        html.Main([html.Div(id="app-error", role="alert"),
                   dash.page_container], id="main", tabIndex="-1"),
        html.Footer(f"{reg.project.fund} · grant {reg.project.grant} · "
                    f"{reg.project.start:%d %b %Y} – {reg.project.end:%d %b %Y}", className="foot"),
    ])

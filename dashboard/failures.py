"""What the app answers when a request goes wrong: callback requests that Dash would fail on are
refused with 400 before they run, and a callback that fails all the same shows a short message at
the top of the page, never a 500 with a traceback. Each failure goes to the server's log with its
traceback and to the audit trail the admins read."""

from __future__ import annotations

import functools
import logging

import dash
import flask
from dash import Dash, Input, Output, html
from werkzeug.exceptions import HTTPException

from dashboard import auth, i18n
from dashboard.i18n import N_

FAILED = N_("Something went wrong; the coordination has been told.")
NOTICE = "app-error"  # the component of the shell that shows it
CALLBACKS = "/_dash-update-component"
REFUSED = N_("Refused: {problem}. Reload the page.")
log = logging.getLogger(__name__)


def notice() -> html.Div:
    """Where the shell shows FAILED, above the page."""
    return html.Div(id=NOTICE, role="alert")


def install(app: Dash) -> None:
    """Refuse malformed callback requests, catch what no callback caught, and clear the message
    when another page opens. (A callback's own failure reaches `failed`, Dash's on_error.)"""
    app.server.before_request(functools.partial(_refused, app))
    app.server.register_error_handler(Exception, _unanswered)
    app.clientside_callback("() => [null, null]", Output(NOTICE, "children"),
                            Output(NOTICE, "className"), Input("_pages_location", "pathname"))


def failed(error: Exception) -> None:
    """Dash's on_error: the outputs keep what they showed and the message appears."""
    _told(error, "callback " + ", ".join(
        f"{o.get('id')}.{o.get('property')}" for o in _flat(dash.ctx.outputs_list)))
    dash.set_props(NOTICE, {"children": said(FAILED), "className": "note"})


def said(text: str, **values: object) -> str:
    """A text marked with N_ in the reader's language; in English when even the reader's
    language cannot be told (their account cannot be read: what failed may be the accounts)."""
    try:
        shown = i18n.word(text)
    except Exception:
        shown = text
    return shown.format(**values) if values else shown


def _told(error: Exception, where: str) -> None:
    log.error("%s failed", where, exc_info=error)
    try:
        auth.audit("error", where[:200], f"{type(error).__name__}: {error}"[:300])
    except Exception:  # the trail itself may be what fails (a full or read-only disk)
        log.exception("the audit trail could not record the failure of %s", where)


def _flat(outputs) -> list[dict]:
    items = outputs if isinstance(outputs, list) else [outputs]
    return [o for item in items for o in (_flat(item) if isinstance(item, list) else [item])
            if isinstance(o, dict)]


def _unanswered(error: Exception):
    """The last resort of any request: a callback's answer carries the message as one that failed
    in its function does; other requests get it as plain text."""
    if isinstance(error, HTTPException):
        return error
    _told(error, f"{flask.request.method} {flask.request.path}")
    if flask.request.path.endswith(CALLBACKS):
        return flask.jsonify(multi=True, response={},
                             sideUpdate={NOTICE: {"children": said(FAILED), "className": "note"}})
    return flask.Response(said(FAILED), status=500, mimetype="text/plain")


def _refused(app: Dash):
    """400 with what is wrong for a callback request not shaped as Dash's renderer sends it."""
    if flask.request.method != "POST" or not flask.request.path.endswith(CALLBACKS):
        return None
    body = flask.request.get_json(silent=True)
    problem = _misshaped(app, body if isinstance(body, dict) else {})
    if problem:
        return flask.jsonify(error=said(REFUSED, problem=said(problem))), 400
    return None


def _misshaped(app: Dash, body: dict) -> str | None:
    output = body.get("output")
    spec = app.callback_map.get(output) if isinstance(output, str) else None
    if spec is None or "callback" not in spec:  # clientside callbacks never reach the server
        return N_("this request matches no callback of the page")
    if not (isinstance(body.get("outputs"), dict | list)
            and _entries(body.get("inputs"), spec["inputs"])
            and _entries(body.get("state", []), spec["state"])
            and isinstance(body.get("changedPropIds", []), list)
            and all(isinstance(c, str) for c in body.get("changedPropIds", []))):
        return N_("this request is not shaped as the page sends it")
    if "_pages_content" in output:  # Dash's page router reads the URL's path and query as text
        given = {i["property"]: i.get("value") for i in body["inputs"]}
        path, search = given.get("pathname"), given.get("search")
        if not (isinstance(path, str) and path.startswith("/") and isinstance(search, str | None)):
            return N_("a page's address is a path and a query, as text")
    return None


def _entries(given: object, declared: list) -> bool:
    """Inputs or state as the renderer sends them: one entry per declared one, each an id and a
    property (a list of them for a pattern that matches all)."""
    def one(item: object) -> bool:
        return (isinstance(item, dict) and isinstance(item.get("id"), str | dict)
                and isinstance(item.get("property"), str))

    return isinstance(given, list) and len(given) == len(declared) and all(
        one(g) or (isinstance(g, list) and all(one(x) for x in g)) for g in given)

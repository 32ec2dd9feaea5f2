"""Who may see and do what: roles on every route and callback, CSRF, cookies, audit.

Every request needs a logged-in user (dashboard/logins.py) except the exact PUBLIC paths and the
static assets under /assets/. Roles are checked on the server, never only by hiding links:
- a page is shown to the role its `dash.register_page(..., access=...)` names (default manager);
  the page's layout is replaced by a refusal otherwise (and by nothing for an anonymous call,
  which Dash makes once when it starts);
- a callback POSTed to /_dash-update-component is allowed only if every output belongs to a page
  the user may see (component ids start with their page's name, e.g. `upload-result`);
  anything else is refused with 403 before Dash runs it.
Query arguments reach a page's layout as keyword arguments, never in place of the page itself.
State-changing requests carry a CSRF token (Flask-WTF): the login form in a hidden field, Dash
callbacks in the X-CSRFToken header that Dash's renderer copies from the `_csrf_token` cookie.
Session cookies are HttpOnly, SameSite=Lax, and Secure unless MVH_INSECURE_COOKIES=1 (plain
http on 127.0.0.1). Logins, failed logins and logouts go to the audit trail.
"""

from __future__ import annotations

import json
import os
import posixpath
import secrets

import dash
import flask
import flask_login
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import i18n, logins
from dashboard.i18n import _
from pipelines.access import accounts
from pipelines.store import db

PUBLIC = {"/login", "/healthz", "/_favicon.ico"}
ASSETS = "/assets/"
PAGES_IDS = {"_pages_content", "_pages_store", "_pages_location"}


def current() -> accounts.User | None:
    """The logged-in user of this request, or None (also outside a request)."""
    if not flask.has_request_context():
        return None
    logged = flask_login.current_user
    return logged.user if getattr(logged, "is_authenticated", False) else None


def scope() -> str | None:
    """The country a user's data views are limited to: a partner's own; None for everyone else."""
    user = current()
    return None if user is None or user.has("manager") else user.country


def scoped(reg, frame=None, reports: list[dict] | None = None):
    """What a user may see of the submissions: for a partner, the registry with its country alone,
    a frame's rows, and the quarantine reports of that country and of files its accounts sent
    (a file refused for naming another country is filed under its sender); for a partner of an
    organisation in a country reporting per organisation, only that organisation's rows and
    reports (the frame's `partner`, the cover's); everything for the others."""
    only = scope()
    if only is None:
        return reg, frame, reports
    user = current()
    mine = user.organisation.casefold() if user.organisation and reg.per_partner(only) else None
    if frame is not None:
        frame = frame[frame["country"] == only]
        if mine:
            frame = frame[frame["partner"].fillna("").str.strip().str.casefold() == mine]
    if reports is not None:
        reports = [r for r in reports if only in (r.get("country"), r.get("uploader_country"))
                   and (not mine or r.get("uploaded_by") == user.username
                        or (r.get("organisation") or "").strip().casefold() == mine)]
    return reg.model_copy(update={"countries": [reg.country(only)]}), frame, reports


def address() -> str | None:
    return flask.request.remote_addr if flask.has_request_context() else None


def audit(action: str, target: str | None = None, detail: str | None = None,
          actor: str | None = None) -> None:
    user = current()
    accounts.record(action, actor or (user.username if user else "anonymous"), target, address(), detail)


def secret_key() -> str:
    """MVH_SECRET_KEY, else a key kept in secret.key beside the database (made once, mode 0600),
    so every worker process signs sessions with the same key."""
    if os.environ.get("MVH_SECRET_KEY"):
        return os.environ["MVH_SECRET_KEY"]
    path = db.beside("secret_key")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    except OSError as exc:
        raise RuntimeError(f"{path} cannot be written ({exc}): set MVH_SECRET_KEY or make "
                           f"{path.parent} writable.") from exc
    for _attempt in range(50):  # another worker may be writing it this very moment
        key = path.read_text().strip()
        if key:
            return key
    raise RuntimeError(f"{path} is empty: delete it and start again.")


def may_see(user: accounts.User | None, page: dict) -> bool:
    return user is not None and user.has(page.get("access", "manager"))


def may_open(path: str) -> bool:
    """Whether the user of this request may open the page at `path` (to link to it or not)."""
    return any(p["path"] == path and may_see(current(), p) for p in dash.page_registry.values())


def pages_for(user: accounts.User | None) -> list[dict]:
    return [p for p in dash.page_registry.values() if may_see(user, p)]


def _page_of(ident) -> str:
    """The page a component belongs to, from its id: `upload-result` -> upload; a pattern id by
    its `table` (download buttons) or `type`."""
    if isinstance(ident, dict):
        ident = ident.get("table") or ident.get("type") or ""
    return str(ident).split("-", 1)[0]


def _outputs(body: dict) -> list:
    outputs = body.get("outputs")
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return [o.get("id") if isinstance(o, dict) else None for o in outputs]


def callback_allowed(user: accounts.User, body: dict) -> bool:
    """Whether every output of a callback request belongs to a page the user may see."""
    by_name = {p["module"].rsplit(".", 1)[-1]: p for p in dash.page_registry.values()}
    outputs = _outputs(body)
    for ident in outputs:
        if isinstance(ident, str) and ident in PAGES_IDS:
            continue  # the page router: each page's layout checks its own access
        page = by_name.get(_page_of(ident))
        if page is None or not may_see(user, page):
            return False
    return bool(outputs)


def guard_layouts() -> None:
    """Wrap every page's layout: nothing for an anonymous call, a refusal for a role too low."""
    for page in dash.page_registry.values():
        if not getattr(page["layout"], "guarded", False):
            page["layout"] = _guarded(page, page["layout"])


def _guarded(page: dict, layout):
    """A page's layout behind its access check; the page and layout are closed over, so no query
    argument can stand in for them."""
    def guarded(**query):
        user = current()
        if user is None:
            return dash.html.Div()
        if not may_see(user, page):
            audit("denied", page["path"])
            return refusal(page["name"])
        return layout(**query) if callable(layout) else layout

    guarded.guarded = True
    return guarded


def refusal(name: str) -> dash.html.Div:
    """A page refused: its name (marked with N_ in app.PAGE_NAMES) and why, in the reader's language."""
    return dash.html.Div([dash.html.H1(i18n.word(name)), dash.html.P(
        _("Your account may not open this page. Ask the project's coordination if you need it."),
        className="lead", id="access-refused")])


def init(server: flask.Flask) -> None:
    """Logins, the guard of every request, CSRF and cookie settings, on the app's Flask server."""
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("MVH_INSECURE_COOKIES") != "1",
        REMEMBER_COOKIE_SECURE=os.environ.get("MVH_INSECURE_COOKIES") != "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=False,  # the Referer check of Flask-WTF; SameSite cookies cover it
    )
    proxies = int(os.environ.get("MVH_PROXIES", "0"))
    if proxies:  # behind a reverse proxy: take the client's address and scheme from it
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    server.before_request(_guard)  # before the CSRF check: anonymous requests get 401 first
    CSRFProtect(server)
    logins.init(server)  # after the CSRF check: a forged login form is neither checked nor counted
    server.after_request(_headers)
    server.add_url_rule("/healthz", "healthz", lambda: "ok")
    server.register_error_handler(CSRFError, _csrf_failed)
    server.register_error_handler(413, _too_large)


def public(path: str) -> bool:
    """Whether anyone may open a path: the exact PUBLIC ones, and the files under /assets/
    (never a path that `..` or `//` would lead elsewhere)."""
    return path in PUBLIC or (path.startswith(ASSETS) and posixpath.normpath(path) == path)


def _guard():
    path = flask.request.path
    if public(path):
        return None
    user = current()
    if user is None:
        if path.startswith("/_dash-") or flask.request.method != "GET":
            return flask.jsonify(error=_("Log in first: your session has ended.")), 401
        return flask.redirect(flask.url_for("login", next=flask.request.full_path.rstrip("?")))
    if path.endswith("/_dash-update-component") and flask.request.method == "POST":
        body = _body()
        if not isinstance(body, dict):
            return flask.jsonify(error=_("Refused: {problem}. Reload the page.",
                                         problem=_("this request is not shaped as the page sends it"))), 400
        if not callback_allowed(user, body):
            audit("denied", "callback " + json.dumps(_outputs(body))[:200])
            return flask.jsonify(error=_("Your account may not do this.")), 403
    return None


def _body() -> object:
    """A callback request's JSON, or None when it is not JSON (or nested past what Python
    parses)."""
    try:
        return flask.request.get_json(silent=True)
    except RecursionError:
        return None


def _headers(response: flask.Response) -> flask.Response:
    if current() is not None:  # Dash's renderer sends this cookie back as the X-CSRFToken header
        response.set_cookie("_csrf_token", generate_csrf(), samesite="Strict",
                            secure=flask.current_app.config["SESSION_COOKIE_SECURE"])
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _csrf_failed(_error: CSRFError):
    if flask.request.path.startswith("/_dash-"):
        return flask.jsonify(error=_("Refused: the page's security token ({token}) is missing, has expired "
                                     "or does not match. Reload the page.", token="CSRF")), 400
    return flask.Response(logins.page(_("Your form had expired: please log in again.")), status=400,
                          mimetype="text/html")


def _too_large(_error):
    return flask.jsonify(error=_("The file is larger than the server accepts ({size} MB). Send the "
                                 "workbook without images, or split the register.", size=20)), 413

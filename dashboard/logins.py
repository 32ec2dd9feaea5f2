"""Logging in and out: the login form, throttled failed logins, sessions the server can end.

Failed logins are counted by Flask-Limiter in accounts.sqlite (pipelines/access/login_counters.py), in
windows of a minute, an hour and a day, so the wait grows with the failures:
- per client address (an IPv6 client by its /64 network), whatever the account;
- per account, from addresses that have never logged in to it: someone guessing from elsewhere
  cannot lock the user out of the places they log in from.
Every attempt takes its place in the counters before its password is checked, and all but the
failed ones give it back once answered: parallel attempts can never check more passwords than the
limits allow (Flask-Limiter's deduct_when only counts after the answer, so a burst would pass).
A throttled attempt is answered 429 with the time to wait, and its password is not checked.
While the counters cannot be written (data folder read-only or full) logins are refused.

A session carries its user's session version and its login time, both checked on every request:
a logout (which ends every session of the user), a new password or a disabled account ends the
sessions opened before, and no session outlives MAX_AGE. Sessions are never "permanent" (that
would weaken Flask-Login's strong protection to basic): a session used from another address or
browser is dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import math
import time
from html import escape
from pathlib import Path
from urllib.parse import urlparse

import flask
import flask_login
from babel.dates import format_timedelta
from flask_limiter import Limiter, RateLimitExceeded
from flask_wtf.csrf import generate_csrf

from dashboard import i18n
from dashboard.i18n import _
from pipelines.access import accounts, login_counters
from pipelines.declaration import registry

PER_ADDRESS = "10 per minute; 30 per hour; 100 per day"
PER_ACCOUNT = "5 per minute; 15 per hour; 40 per day"
MAX_AGE = dt.timedelta(hours=8)
PAGE = (Path(__file__).parent / "login.html").read_text(encoding="utf-8")


class LoggedIn(flask_login.UserMixin):
    def __init__(self, user: accounts.User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.username}:{self.user.session}"


def init(server: flask.Flask) -> None:
    """The login manager, the throttled login form and the logout, on the app's Flask server."""
    manager = flask_login.LoginManager(server)
    manager.session_protection = "strong"
    # Flask-Login's own identifier reads X-Forwarded-For, which any client can write
    manager._session_identifier_generator = _identifier
    manager.user_loader(_load)
    limiter = Limiter(_address_key, app=server, storage_uri="mvh-accounts://", strategy="fixed-window",
                      fail_on_first_breach=False, swallow_errors=True)
    view = limiter.limit(PER_ADDRESS, methods=["POST"])(_login)
    view = limiter.limit(PER_ACCOUNT, key_func=_account_key, methods=["POST"],
                         exempt_when=_from_known_address)(view)
    server.add_url_rule("/login", "login", view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", _logout, methods=["POST"])
    server.before_request(_paused)  # before the limits, which could not count the attempt
    server.register_error_handler(RateLimitExceeded, functools.partial(_throttled, limiter))
    server.after_request(functools.partial(_give_back, limiter))


def _identifier() -> str:
    """Whose session this is, for the strong protection: the client's address as the server
    trusts it (ProxyFix behind a proxy) and its browser."""
    agent = flask.request.headers.get("User-Agent", "")
    return hashlib.sha512(f"{flask.request.remote_addr}|{agent}".encode()).hexdigest()


def _load(ident: str) -> LoggedIn | None:
    """The user of a session, unless the server has ended it or it is older than MAX_AGE."""
    started = flask.session.get("login_at")
    if not isinstance(started, int | float) or time.time() - started > MAX_AGE.total_seconds():
        return None
    username, _, version = ident.rpartition(":")
    user = accounts.get(username)
    return LoggedIn(user) if user and str(user.session) == version else None


def client() -> str:
    """The client's address as counted: an IPv6 address by its /64 network."""
    address = flask.request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _typed_name() -> str:
    return flask.request.form.get("username", "").strip().lower()


def _address_key() -> str:
    return login_counters.address_key(client())


def _account_key() -> str:
    return login_counters.account_key(_typed_name())


def _from_known_address() -> bool:
    """No count per account for a name that cannot be an account, nor from an address its user
    has logged in from."""
    name = _typed_name()
    return not accounts.NAME.match(name) or accounts.is_known_address(name, client())


def _audit(action: str, actor: str, detail: str | None = None) -> None:
    accounts.record(action, actor, actor, flask.request.remote_addr, detail)


def _paused() -> flask.Response | None:
    """No login while failed ones cannot be counted: the data folder is read-only or full."""
    if flask.request.endpoint != "login" or flask.request.method != "POST" or login_counters.writable():
        return None
    _audit("login_refused", _typed_name() or "?", "the accounts database cannot be written")
    return flask.Response(page(_("Logging in is paused: the server cannot record logins now (its data "
                                 "folder is read-only or full). Try again later.")), status=503,
                          mimetype="text/html")


def _login():
    message, status = "", 200
    if flask.request.method == "POST":
        username = _typed_name()
        if (user := accounts.verify(username, flask.request.form.get("password", ""))) is None:
            _audit("login_failed", username or "?")
            message, status = _("Wrong user name or password, or the account is disabled."), 401
        else:
            chosen = flask.session.get("lang")  # the language chosen on the login page stays
            flask.session.clear()
            if chosen:
                flask.session["lang"] = chosen
            flask_login.login_user(LoggedIn(user))
            flask.session["login_at"] = time.time()
            accounts.remember_address(user.username, client())
            _audit("login", user.username)
            return flask.redirect(_safe_next(flask.request.args.get("next")))
    return flask.Response(page(message), status=status, mimetype="text/html")


def _give_back(limiter: Limiter, response: flask.Response) -> flask.Response:
    """Only failed logins (401) keep their count: a login, a throttled or refused attempt gives
    back what it took."""
    if response.status_code != 401:
        with accounts.logged_on_failure("The failed-login counters"):
            for taken in limiter.current_limits:
                limiter.storage.decr(taken.key)
    return response


def _throttled(limiter: Limiter, _error: RateLimitExceeded) -> flask.Response:
    now = time.time()
    until = max((lim.window.reset_time for lim in limiter.current_limits if lim.breached),
                default=now + 60)
    wait = max(1, math.ceil(until - now))
    _audit("login_throttled", _typed_name() or "?", f"wait {wait} s")
    response = flask.Response(page(_(
        "Too many failed logins: wait {duration} before trying again, or ask the project's "
        "coordination to unlock your account.", duration=_duration(wait))), status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(wait)
    return response


def _duration(seconds: int) -> str:
    """A wait in words, in the reader's language (Babel's units)."""
    return format_timedelta(dt.timedelta(seconds=seconds), threshold=1.5, locale=i18n.lang())


def _logout():
    user = flask_login.current_user
    if getattr(user, "is_authenticated", False):
        accounts.end_sessions(user.user.username)
        _audit("logout", user.user.username)
    flask_login.logout_user()
    flask.session.clear()
    response = flask.redirect(flask.url_for("login"))
    response.delete_cookie("_csrf_token")
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL someone slipped into ?next=."""
    parsed = urlparse(target or "/")
    return target if target and not parsed.scheme and not parsed.netloc and target.startswith("/") \
        and not target.startswith("//") else "/"


def page(message: str) -> str:
    """The login form in the reader's language (chosen on the page, else their browser's), with
    a message above it."""
    chosen = flask.request.args.get("lang")
    if chosen in i18n.languages():
        flask.session["lang"] = chosen
        flask.g.pop("lang", None)  # the language this request was read in so far
    current = i18n.lang()
    options = "".join(f'<option value="{code}" lang="{code}"{" selected" if code == current else ""}>'
                      f"{escape(i18n.name(code))}</option>" for code in i18n.languages())
    words = {"log_in": _("Log in"), "language": _("Language"), "choose": _("Show"),
             "user_name": _("User name"), "password": _("Password"),
             "help": _("No account yet, or a forgotten password? Ask the project's coordination."),
             "project": _("{project} impact monitor", project=registry.get().project.name)}
    texts = {"lang": current, "languages": options, "csrf": escape(generate_csrf()),
             "message": f'<p class="error" role="alert">{escape(message)}</p>' if message else "",
             **{key: escape(text) for key, text in words.items()}}
    html = PAGE
    for key, text in texts.items():
        html = html.replace("{" + key + "}", text)
    return html

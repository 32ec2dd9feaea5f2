"""Accounts, roles and the audit trail, in SQLite beside the database (accounts.sqlite).

Why not DuckDB: logins and audit rows are written by every server process at any moment, and
DuckDB allows one writing process; SQLite (WAL mode, a busy timeout) takes small writes from many
processes. The DuckDB data file stays the ingest's alone.

Roles, each including the ones before it:
- partner: bound to one country and, in a country reporting per partner organisation, to one of
  its organisations (required there); uploads for it, sees its own submissions and findings
  (its organisation's, where it has one), downloads its templates, sees the country's and the
  project-wide KPIs;
- manager: every page of the dashboard, uploads for any country, exports;
- admin: also the accounts and the audit trail.
Passwords are kept as scrypt hashes (werkzeug). The audit table only grows: triggers refuse
UPDATE and DELETE, and no command or page edits it. Each user has a session version: a session
carries the version it was opened with, and logout, a new password or disabling the account
raise it, which ends every session opened before. The addresses each account has logged in
from are kept, and the counters of failed logins (pipelines/access/login_counters.py). An account
may have an e-mail address and a language for the monitor's notices (pipelines/notify/), which
records here each message it sent (mail_sent), so that none goes out twice.

When the data folder cannot be written (read-only, disk full), reading still works through a
read-only connection, and audit rows that cannot be written are logged instead of failing the
request.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.security import check_password_hash, generate_password_hash

from pipelines.store import db

if TYPE_CHECKING:
    from pipelines.declaration.registry import Registry

ROLES = ("partner", "manager", "admin")
MIN_PASSWORD = 10
NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
# PRAGMA user_version: 1 added users.session_version, 2 users.organisation, 3 users.email and lang
SCHEMA_VERSION = 3
UNWRITABLE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_IOERR")  # not "locked"
log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('partner', 'manager', 'admin')),
    country TEXT,                         -- partners only
    organisation TEXT,                    -- a partner's organisation, as indicators.yaml names it
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    session_version INTEGER NOT NULL DEFAULT 0,
    email TEXT,                           -- where the monitor's notices go (none: no mail)
    lang TEXT                             -- their language (none: the country's, else en)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,                     -- UTC, ISO 8601
    actor TEXT NOT NULL,                  -- a username, "cli:<os user>", or what was typed
    action TEXT NOT NULL,
    target TEXT,                          -- the account, file or export concerned
    address TEXT,                         -- the client's IP address, for web requests
    detail TEXT
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be changed'); END;
CREATE TABLE IF NOT EXISTS known_addresses (  -- where each account has logged in from
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (username, address)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS login_counters (   -- failed logins in a time window, by address or account
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL                     -- seconds since the epoch
);
CREATE INDEX IF NOT EXISTS login_counters_expiry ON login_counters (expires);
CREATE TABLE IF NOT EXISTS mail_sent (        -- each notice e-mailed (pipelines/notify), never twice
    key TEXT PRIMARY KEY,                     -- the event and the recipient, e.g. due:BG:2023-Q4:ana
    recipient TEXT NOT NULL,                  -- the address it went to
    subject TEXT NOT NULL,
    claimed_at TEXT NOT NULL,                 -- when a sender took it (UTC): no other one sends it
    at TEXT                                   -- when the server accepted it (UTC); NULL while sending
);
"""


class AccountError(ValueError):
    """A refused account change, with what to do instead."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    country: str | None
    organisation: str | None = None
    active: bool = True
    email: str | None = None
    lang: str | None = None  # the language of their e-mail, if not their country's (language())
    session: int = field(default=0, compare=False)  # the session version

    def has(self, role: str) -> bool:
        """Whether this user holds `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def may_upload_for(self, country: str) -> bool:
        return self.has("manager") or self.country == country

    @property
    def bound_to(self) -> str:
        """What a partner reports for, e.g. "BG, Mission Wings Foundation" ("" for the others)."""
        return ", ".join(filter(None, (self.country, self.organisation)))


def path(database: Path | str | None = None) -> Path:
    """The accounts database beside a database (default: this one)."""
    return db.beside("accounts", database)


@contextmanager
def connect(database: Path | str | None = None) -> Iterator[sqlite3.Connection]:
    """One short connection: committed on success, rolled back on error, always closed. Read-only
    when the folder or the file cannot be written."""
    con = _open(path(database))
    try:
        with con:
            yield con
    finally:
        con.close()


def rows(sql: str, database: Path | str | None = None) -> list[tuple]:
    """The rows of a query on a table kept here, read without writing (a full or read-only disk
    still reads); none while the file or the table does not exist yet (nothing recorded)."""
    if not path(database).exists():
        return []
    with connect(database) as con:
        try:
            return con.execute(sql).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []


def _open(target: Path) -> sqlite3.Connection:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(target, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            _migrate(con)
        except sqlite3.Error:
            con.close()
            raise
        return con
    except (OSError, sqlite3.OperationalError) as exc:
        if isinstance(exc, sqlite3.Error) and not exc.sqlite_errorname.startswith(UNWRITABLE):
            raise
        if not target.exists():
            raise sqlite3.OperationalError(f"The accounts database {target} cannot be created ({exc}): "
                                           f"make {target.parent} writable.") from exc
        return _read_only(target, exc)


def _read_only(target: Path, cause: Exception) -> sqlite3.Connection:
    """The database opened for reading only; immutable when not even the WAL index can be made
    (a read-only file system)."""
    for mode in ("mode=ro", "immutable=1"):
        if con := _readable(f"{target.resolve().as_uri()}?{mode}"):
            _warn_read_only(target, str(cause))
            return con
    raise sqlite3.OperationalError(f"The accounts database {target} cannot be opened ({cause}): "
                                   f"make {target.parent} readable and writable.") from cause


def _readable(uri: str) -> sqlite3.Connection | None:
    con = None
    try:
        con = sqlite3.connect(uri, uri=True, timeout=30)
        con.execute("SELECT count(*) FROM users").fetchone()
        return con
    except sqlite3.OperationalError:
        if con is not None:
            con.close()
        return None


@functools.cache
def _warn_read_only(target: Path, cause: str) -> None:
    log.error("The accounts database %s cannot be written (%s): reading it read-only; logins, "
              "logouts and the audit trail are not recorded until %s is writable and has space.",
              target, cause, target.parent)


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version to SCHEMA_VERSION, once."""
    if con.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    con.execute("BEGIN IMMEDIATE")
    columns = {row[1] for row in con.execute("PRAGMA table_info(users)")}
    if "session_version" not in columns:
        con.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")
    if "organisation" not in columns:
        con.execute("ALTER TABLE users ADD COLUMN organisation TEXT")
    for added in ("email TEXT", "lang TEXT"):
        if added.split()[0] not in columns:
            con.execute(f"ALTER TABLE users ADD COLUMN {added}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    con.execute("COMMIT")


@contextmanager
def logged_on_failure(what: str) -> Iterator[None]:
    """For a write a page must survive: if the folder is read-only or full, log it and go on."""
    try:
        yield
    except sqlite3.Error as exc:
        log.error("%s could not be written to %s (%s): make %s writable and free space.",
                  what, path(), exc, path().parent)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    return generate_password_hash(password)


def _organisation(role: str, country: str | None, organisation: str | None,
                  registry: Registry) -> str | None:
    """A partner's organisation as the declaration names it (typed in any letter case); required
    in a country reporting per organisation, refused for other roles."""
    if role != "partner":
        if organisation:
            raise AccountError("Only partners belong to an organisation: leave out --organisation.")
        return None
    partners = registry.country(country).partners
    if not organisation:
        if registry.per_partner(country):
            raise AccountError(f"{country} reports per partner organisation: --organisation with one "
                               f"of {'; '.join(partners)}.")
        return None
    named = {p.casefold(): p for p in partners}
    if organisation.strip().casefold() not in named:
        raise AccountError(f"{organisation!r} is not a partner organisation of {country}: use one of "
                           f"{'; '.join(partners)}.")
    return named[organisation.strip().casefold()]


def _checked_email(email: str | None) -> str | None:
    """A plausible address as typed (one @, a dot in the domain, no name around it), or None for
    none; refused otherwise."""
    email = (email or "").strip()
    if not email:
        return None
    address = parseaddr(email)[1]
    local, _, domain = address.rpartition("@")
    if address != email or not local or "@" in local or "." not in domain.strip("."):
        raise AccountError(f"{email!r} is not an e-mail address: write it as name@example.org.")
    return email


def _checked_lang(lang: str | None, registry: Registry) -> str | None:
    lang = (lang or "").strip().lower() or None
    if lang and lang not in registry.languages:
        raise AccountError(f"Unknown language {lang!r}: use one of {', '.join(registry.languages)}.")
    return lang


def language(lang: str | None, country: str | None, registry: Registry) -> str:
    """The language a user is written to in: their own, else their country's, else English."""
    return lang or next((c.language for c in registry.countries if c.code == country), "en")


def add(username: str, role: str, password: str, country: str | None, registry: Registry,
        organisation: str | None = None, *, email: str | None = None, lang: str | None = None) -> User:
    """Add an account: a partner's country (and organisation) must be the project's; an e-mail
    address and a language are optional."""
    countries = tuple(c.code for c in registry.countries)
    if not NAME.match(username):
        raise AccountError(f"{username!r} is not a valid user name: use 2-64 lower-case letters, "
                           "digits and . _ @ -, starting with a letter or digit.")
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if role == "partner" and country not in countries:
        raise AccountError(f"A partner needs its country: --country with one of {', '.join(countries)}.")
    if role != "partner" and country:
        raise AccountError("Only partners are bound to a country: leave out --country.")
    organisation = _organisation(role, country, organisation, registry)
    email, lang = _checked_email(email), _checked_lang(lang, registry)
    hashed = _checked_password(password)
    with connect() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise AccountError(f"{username} exists already: use `mvh users set-password` or "
                               "`mvh users enable`.")
        con.execute("INSERT INTO users (username, role, country, organisation, password_hash, active, "
                    "created_at, changed_at, email, lang) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                    [username, role, country, organisation, hashed, _now(), _now(), email, lang])
    return User(username, role, country, organisation, email=email, lang=lang)


def _change(username: str, sql: str, *params) -> None:
    with connect() as con:
        changed = con.execute(f"UPDATE users SET {sql}, changed_at = ? WHERE username = ?",
                              [*params, _now(), username]).rowcount
    if not changed:
        raise AccountError(f"No user {username}: see `mvh users list`.")


def set_password(username: str, password: str) -> None:
    """A new password; it ends every session of the user."""
    _change(username, "password_hash = ?, session_version = session_version + 1",
            _checked_password(password))


def set_active(username: str, active: bool) -> None:
    """Enable or disable an account; disabling it ends every session of the user."""
    _change(username, "active = ?" + ("" if active else ", session_version = session_version + 1"),
            int(active))


def set_email(username: str, email: str | None) -> str | None:
    """A user's e-mail address (empty: none, so no mail); returns it as kept."""
    email = _checked_email(email)
    _change(username, "email = ?", email)
    return email


def set_lang(username: str, lang: str | None, registry: Registry) -> str | None:
    """The language of a user's e-mail (empty: their country's again); returns it as kept."""
    lang = _checked_lang(lang, registry)
    _change(username, "lang = ?", lang)
    return lang


def end_sessions(username: str) -> None:
    """End every session of a user (at logout): the version their sessions carry is stale now."""
    with logged_on_failure(f"The end of {username}'s sessions"), connect() as con:
        con.execute("UPDATE users SET session_version = session_version + 1 WHERE username = ?",
                    [username])


def users() -> list[dict]:
    """Every account; its e-mail address as `mail` (`email` is the id of a field of the cover,
    which no code names)."""
    with connect() as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT username, role, country, organisation, email AS mail, lang, active, "
                           "created_at, changed_at FROM users ORDER BY role DESC, username").fetchall()
    return [dict(r) for r in rows]


SELECT_USER = ("SELECT username, role, country, organisation, session_version, password_hash, email, lang "
               "FROM users")  # a row for _user()


def _active(con: sqlite3.Connection, username: str) -> tuple | None:
    return con.execute(f"{SELECT_USER} WHERE username = ? AND active", [username]).fetchone()


def _user(row: tuple) -> User:
    return User(row[0], row[1], row[2], row[3], email=row[6], lang=row[7], session=row[4])


def reachable(database: Path | str | None = None) -> list[User]:
    """The active users with an e-mail address: whom the monitor may write to."""
    with connect(database) as con:
        rows = con.execute(f"{SELECT_USER} WHERE active AND email IS NOT NULL ORDER BY username").fetchall()
    return [_user(row) for row in rows]


def get(username: str) -> User | None:
    """An active user, or None."""
    with connect() as con:
        row = _active(con, username)
    return _user(row) if row else None


def verify(username: str, password: str) -> User | None:
    """The active user whose password this is, or None."""
    with connect() as con:
        row = _active(con, username)
    if row is None:
        check_password_hash(_dummy_hash(), password)  # the same time as a wrong password
        return None
    return _user(row) if check_password_hash(row[5], password) else None


def remember_address(username: str, address: str | None) -> None:
    """Note that a user logged in from this address (failed logins from it are then not
    counted against the account)."""
    if address:
        with logged_on_failure(f"The address {address} of {username}'s login"), connect() as con:
            con.execute("INSERT INTO known_addresses VALUES (?, ?, ?) ON CONFLICT DO UPDATE "
                        "SET last_at = excluded.last_at", [username, address, _now()])


def known_addresses(username: str) -> list[str]:
    """The addresses a user has logged in from."""
    with connect() as con:
        return [row[0] for row in con.execute(
            "SELECT address FROM known_addresses WHERE username = ? ORDER BY address", [username])]


def is_known_address(username: str, address: str | None) -> bool:
    with connect() as con:
        return con.execute("SELECT 1 FROM known_addresses WHERE username = ? AND address = ?",
                           [username, address]).fetchone() is not None


def record(action: str, actor: str, target: str | None = None, address: str | None = None,
           detail: str | None = None, database: Path | str | None = None) -> None:
    """Append a row to the audit trail beside a database (default: this one); logged instead when
    it cannot be written."""
    with (logged_on_failure(f"The audit row {action} by {actor[:128]!r} on {target!r}"),
          connect(database) as con):
        con.execute("INSERT INTO audit (at, actor, action, target, address, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [_now(), actor[:128], action, target, address, detail])


def audit(limit: int = 1000, actor: str | None = None, action: str | None = None) -> list[dict]:
    """The latest rows of the audit trail, newest first."""
    where, params = [], []
    for column, value in (("actor", actor), ("action", action)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    sql = ("SELECT id, at, actor, action, target, address, detail FROM audit"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
    with connect() as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, [*params, limit]).fetchall()]


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("a password nobody has")


def record_ingest(actor: str, status: str, country: str, quarter: str, version: int | None,
                  file_name: str, address: str | None = None) -> None:
    """Audit one file's ingest: upload (a first version), correct (a later one), refused, failed
    (it could not be loaded at all) or unchanged (the very file was loaded before)."""
    action = {"accepted": "correct" if (version or 1) > 1 else "upload", "rejected": "upload_rejected",
              "failed": "upload_failed", "unchanged": "upload_unchanged"}[status]
    what = f"{country} {quarter}".strip() + (f" v{version}" if version else "")
    record(action, actor, file_name, address, what or None)

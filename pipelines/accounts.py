"""Accounts, roles and the audit trail, in SQLite beside the database (accounts.sqlite).

Why not DuckDB: logins and audit rows are written by every server process at any moment, and
DuckDB allows one writing process; SQLite (WAL mode, a busy timeout) takes small writes from many
processes. The DuckDB data file stays the ingest's alone.

Roles, each including the ones before it:
- partner: bound to one country; uploads for it, sees its own submissions and findings,
  downloads its templates, sees the project-wide KPIs;
- manager: every page of the dashboard, uploads for any country, exports;
- admin: also the accounts and the audit trail.
Passwords are kept as scrypt hashes (werkzeug). The audit table only grows: triggers refuse
UPDATE and DELETE, and no command or page edits it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from pipelines import db

ROLES = ("partner", "manager", "admin")
MIN_PASSWORD = 10
NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('partner', 'manager', 'admin')),
    country TEXT,                         -- partners only
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
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
"""


class AccountError(ValueError):
    """A refused account change, with what to do instead."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    country: str | None
    active: bool = True

    def has(self, role: str) -> bool:
        """Whether this user holds `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def may_upload_for(self, country: str) -> bool:
        return self.has("manager") or self.country == country


def path() -> Path:
    return db.path().parent / "accounts.sqlite"


@contextmanager
def connect() -> Iterator[sqlite3.Connection]:
    """One short connection: committed on success, rolled back on error, always closed."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(target, timeout=30)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(SCHEMA)
        with con:
            yield con
    finally:
        con.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    return generate_password_hash(password)


def add(username: str, role: str, password: str, country: str | None = None,
        countries: tuple[str, ...] = ()) -> User:
    if not NAME.match(username):
        raise AccountError(f"{username!r} is not a valid user name: use 2-64 lower-case letters, "
                           "digits and . _ @ -, starting with a letter or digit.")
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    if role == "partner" and country not in countries:
        raise AccountError(f"A partner needs its country: --country with one of {', '.join(countries)}.")
    if role != "partner" and country:
        raise AccountError("Only partners are bound to a country: leave out --country.")
    hashed = _checked_password(password)
    with connect() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise AccountError(f"{username} exists already: use `mvh users set-password` or "
                               "`mvh users enable`.")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, 1, ?, ?)",
                    [username, role, country, hashed, _now(), _now()])
    return User(username, role, country)


def _change(username: str, sql: str, *params) -> None:
    with connect() as con:
        changed = con.execute(f"UPDATE users SET {sql}, changed_at = ? WHERE username = ?",
                              [*params, _now(), username]).rowcount
    if not changed:
        raise AccountError(f"No user {username}: see `mvh users list`.")


def set_password(username: str, password: str) -> None:
    _change(username, "password_hash = ?", _checked_password(password))


def set_active(username: str, active: bool) -> None:
    _change(username, "active = ?", int(active))


def users() -> list[dict]:
    with connect() as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT username, role, country, active, created_at, changed_at "
                           "FROM users ORDER BY role DESC, username").fetchall()
    return [dict(r) for r in rows]


def get(username: str) -> User | None:
    """An active user, or None."""
    with connect() as con:
        row = con.execute("SELECT username, role, country FROM users WHERE username = ? AND active",
                          [username]).fetchone()
    return User(*row) if row else None


def verify(username: str, password: str) -> User | None:
    """The active user whose password this is, or None."""
    with connect() as con:
        row = con.execute("SELECT username, role, country, password_hash FROM users "
                          "WHERE username = ? AND active", [username]).fetchone()
    if row is None:
        check_password_hash(_dummy_hash(), password)  # the same time as a wrong password
        return None
    return User(*row[:3]) if check_password_hash(row[3], password) else None


def record(action: str, actor: str, target: str | None = None, address: str | None = None,
           detail: str | None = None) -> None:
    """Append a row to the audit trail."""
    with connect() as con:
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


def recent_failures(username: str, minutes: int) -> int:
    """Failed logins for a user name within the last minutes."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")
    with connect() as con:
        return con.execute("SELECT count(*) FROM audit WHERE action = 'login_failed' AND actor = ? "
                           "AND at >= ?", [username[:128], since]).fetchone()[0]


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("a password nobody has")


def record_ingest(actor: str, status: str, country: str, quarter: str, version: int | None,
                  file_name: str, address: str | None = None) -> None:
    """Audit one file's ingest: upload (a first version), correct (a later one), or refused."""
    action = {"accepted": "correct" if (version or 1) > 1 else "upload",
              "rejected": "upload_rejected"}.get(status, "upload_unchanged")
    what = f"{country} {quarter}".strip() + (f" v{version}" if version else "")
    record(action, actor, file_name, address, what or None)

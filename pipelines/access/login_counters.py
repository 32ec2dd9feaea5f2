"""Counters of failed logins for Flask-Limiter, in accounts.sqlite: a storage for `limits`
(scheme `mvh-accounts://`) shared by every worker process and thread.

`limits` has no SQLite storage; this one makes each increment a single UPSERT … RETURNING, which
SQLite runs under its write lock, so parallel attempts from any number of processes are each
counted once. Fixed windows only: a key counts from its first attempt until it expires.
"""

from __future__ import annotations

import sqlite3
import time

from limits.storage import Storage

from pipelines.access import accounts

NAMESPACE = "LIMITER"  # how `limits` starts every key: LIMITER/<key>/<scope>/<amount>/<n>/<unit>


def account_key(username: str) -> str:
    return f"account:{username}"


def address_key(address: str) -> str:
    return f"address:{address}"


def unlock(username: str) -> int:
    """Clear the counters of an account and of the addresses it has logged in from; how many."""
    keys = [account_key(username)] + [address_key(a) for a in accounts.known_addresses(username)]
    with accounts.connect() as con:
        return sum(con.execute("DELETE FROM login_counters WHERE instr(key, ?) = 1 AND count > 0 "
                               "AND expires > ?", [f"{NAMESPACE}/{key}/", time.time()]).rowcount
                   for key in keys)


def writable() -> bool:
    """Whether failed logins can be counted now: a write to the counters' table succeeds (not
    when the data folder is read-only or full)."""
    return _succeeds("INSERT OR REPLACE INTO login_counters VALUES ('probe', 0, 0)")


def _succeeds(sql: str) -> bool:
    try:
        with accounts.connect() as con:
            con.execute(sql)
    except sqlite3.Error:
        return False
    return True


class AccountsStorage(Storage):
    """The `limits` storage in accounts.sqlite (always the one of the current $MVH_DB)."""

    STORAGE_SCHEME = ["mvh-accounts"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with accounts.connect() as con:
            count = con.execute(
                "INSERT INTO login_counters (key, count, expires) VALUES (?1, ?2, ?3 + ?4) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN expires > ?3 THEN count + excluded.count ELSE excluded.count END, "
                "expires = CASE WHEN expires > ?3 THEN expires ELSE excluded.expires END "
                "RETURNING count", [key, amount, now, expiry]).fetchone()[0]
            con.execute("DELETE FROM login_counters WHERE expires <= ?", [now])
        return count

    def decr(self, key: str, amount: int = 1) -> None:
        """Give back what an attempt took (it was not a failure)."""
        with accounts.connect() as con:
            con.execute("UPDATE login_counters SET count = max(count - ?, 0) WHERE key = ?", [amount, key])

    def _live(self, key: str) -> tuple[int, float] | None:
        with accounts.connect() as con:
            return con.execute("SELECT count, expires FROM login_counters WHERE key = ? AND expires > ?",
                               [key, time.time()]).fetchone()

    def get(self, key: str) -> int:
        row = self._live(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        return _succeeds("SELECT 1 FROM login_counters LIMIT 1")

    def reset(self) -> int:
        with accounts.connect() as con:
            return con.execute("DELETE FROM login_counters").rowcount

    def clear(self, key: str) -> None:
        with accounts.connect() as con:
            con.execute("DELETE FROM login_counters WHERE key = ?", [key])

"""The review state of each submission's key, and the managers' decisions that make it.

A key is a submission's: country, quarter and reporter (the partner organisation where the country
reports per organisation, else ''). Decisions are kept in accounts.sqlite beside the database, one
row each (approve, return or reopen; who, when, why and the version they concern), and each is
also a row of the audit trail. A key's state is worked out from its current version and its
decisions:
- expected: no accepted version yet;
- submitted: a current version no decision has concerned yet (a new version after a return or a
  reopening is submitted again);
- returned: sent back with a reason, no newer version since;
- approved: approved, and not reopened since. An approved key is locked: the ingest refuses a
  new version of it (rule `approved_locked`, naming who approved it and when), keeping its bytes;
- reopened: reopened with a reason after an approval; uploads are accepted again.
Allowed decisions: approve or return a submitted or reopened key; approve a returned one too
(the partner's explanation sufficed, no new version needed); reopen an approved one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipelines.access import accounts
from pipelines.intake import findings as F

ACTIONS = {"approve": "approved", "return": "returned", "reopen": "reopened"}
ALLOWED = {"approve": ("submitted", "returned", "reopened"), "return": ("submitted", "reopened"),
           "reopen": ("approved",)}
NEEDS_REASON = ("return", "reopen")
SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    country TEXT NOT NULL,
    quarter TEXT NOT NULL,
    reporter TEXT NOT NULL,               -- '' where the country sends one consolidated workbook
    action TEXT NOT NULL CHECK (action IN ('approve', 'return', 'reopen')),
    version INTEGER NOT NULL,             -- the key's current version when it was decided
    actor TEXT NOT NULL,
    at TEXT NOT NULL,                     -- UTC, ISO 8601
    reason TEXT
);
CREATE INDEX IF NOT EXISTS decisions_key ON decisions (country, quarter, reporter);
"""


class DecisionError(ValueError):
    """A decision that does not apply to the key's state, with what to do instead."""


@dataclass(frozen=True)
class Key:
    country: str
    quarter: str
    reporter: str = ""

    def __str__(self) -> str:
        return " ".join(filter(None, (self.country, self.quarter, self.reporter)))


def state(version: int | None, last: dict | None) -> str:
    """A key's state from its current version (None: none accepted) and its latest decision."""
    if version is None:
        return "expected"
    if last is None or version > last["version"]:
        return "submitted"
    return ACTIONS[last["action"]]


def decisions(keys: list[Key], database: Path | str | None = None) -> list[dict]:
    """Every decision on the keys, oldest first: its key, action, version, who, when and why."""
    rows = accounts.rows("SELECT country, quarter, reporter, action, version, actor, at, reason "
                         "FROM decisions ORDER BY id", database)
    wanted = set(keys)
    return [{"key": key, "action": action, "version": version, "actor": actor, "at": at,
             "reason": reason}
            for country, quarter, reporter, action, version, actor, at, reason in rows
            if (key := Key(country, quarter, reporter)) in wanted]


def latest(keys: list[Key], database: Path | str | None = None) -> dict[Key, dict]:
    """The latest decision of each key that has one (none when nothing was ever decided)."""
    return {d["key"]: {k: v for k, v in d.items() if k != "key"} for d in decisions(keys, database)}


def lock(key: Key, database: Path | str | None = None) -> dict | None:
    """The approval that locks a key (who, when), or None when it takes new versions."""
    last = latest([key], database).get(key)
    return last if last and last["action"] == "approve" else None


def refused(key: Key, database: Path | str | None = None) -> list[F.Finding]:
    """The error a file for a locked key gets (rule approved_locked: who approved it, when, and
    how to ask for a reopening); none for a key that takes new versions."""
    approval = lock(key, database)
    return [F.error("approved_locked", value=str(key), by=approval["actor"], at=approval["at"][:10])] \
        if approval else []


def decide(action: str, key: Key, version: int | None, actor: str, reason: str | None = None,
           database: Path | str | None = None, address: str | None = None) -> str:
    """Record a decision on a key whose current version is `version`; return the new state.
    Refused (DecisionError) when the key's state does not allow it or a reason is missing."""
    if action not in ACTIONS:
        raise DecisionError(f"Unknown decision {action!r}: use one of {', '.join(ACTIONS)}.")
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and not reason:
        raise DecisionError(f"To {action} {key}, give the reason: the partner reads it.")
    now = state(version, latest([key], database).get(key))
    if now not in ALLOWED[action]:
        raise DecisionError(f"{key} is {now}: it can be {ACTIONS[action]} only when "
                            f"{' or '.join(ALLOWED[action])}.")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with accounts.connect(database) as con:
        con.executescript(SCHEMA)
        con.execute("INSERT INTO decisions (country, quarter, reporter, action, version, actor, at, "
                    "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [key.country, key.quarter, key.reporter, action, version, actor, at, reason])
        con.execute("INSERT INTO audit (at, actor, action, target, address, detail) VALUES "
                    "(?, ?, ?, ?, ?, ?)", [at, actor[:128], f"quarter_{ACTIONS[action]}", str(key),
                                           address, f"v{version}" + (f": {reason}" if reason else "")])
    return ACTIONS[action]


def current(con, country: str | None = None, quarter: str | None = None) -> dict[Key, int]:
    """The current version of every key (of a country's quarter, when given) in the database."""
    rows = con.execute(f"SELECT country, quarter, reporter, version FROM {_stored(con)} "
                       "WHERE ($country IS NULL OR country = $country) "
                       "AND ($quarter IS NULL OR quarter = $quarter)",
                       {"country": country, "quarter": quarter}).fetchall()
    return {Key(c, q, r): int(v) for c, q, r, v in rows}


def table(con, registry, as_of: str, database: Path | str | None = None) -> list[dict]:
    """The state of every key up to a quarter, by country and quarter: each current version's
    key, and an expected one for a country's quarter with none."""
    versions = current(con)
    keys = [k for k in versions if k.quarter <= as_of]
    reported = {(k.country, k.quarter) for k in keys}
    keys += [Key(c.code, q) for c in registry.countries for q in registry.quarters
             if q <= as_of and (c.code, q) not in reported]
    decided = latest(keys, database)
    rows = []
    for key in sorted(keys, key=lambda k: (k.country, k.quarter, k.reporter)):
        last = decided.get(key)
        rows.append({"country": key.country, "quarter": key.quarter, "organisation": key.reporter,
                     "version": versions.get(key), "state": state(versions.get(key), last),
                     **{f"decided_{k}": (last or {}).get(k)
                        for k in ("action", "version", "actor", "at", "reason")}})
    return rows


def approved_only(con, database: Path | str | None = None, name: str = "approved_submissions") -> str:
    """A temporary view of the current submissions whose key is approved; its name, to count
    the KPIs of approved quarters only (kpis.compute's `current`). Named `current_submissions`,
    it shadows the database's view for the rest of the connection: every query of it (the KPIs,
    their rows, the entities) then counts approved quarters only."""
    versions = current(con)
    decided = latest(list(versions), database)
    ids = [k for k, v in versions.items() if state(v, decided.get(k)) == "approved"]
    keys = ", ".join(f"({_text(k.country)}, {_text(k.quarter)}, {_text(k.reporter)})" for k in ids)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {_stored(con)} "
                f"WHERE (country, quarter, reporter) IN ({keys or '(NULL, NULL, NULL)'})")
    return name


def _stored(con) -> str:
    """The database's own view of the current submissions, even where a temporary view shadows it."""
    (catalog,) = con.execute("SELECT current_database()").fetchone()
    return f'"{catalog.replace(chr(34), chr(34) * 2)}".main.current_submissions'


def _text(value: str) -> str:
    """A text as an SQL literal (a view's definition takes no parameters)."""
    return "'" + value.replace("'", "''") + "'"

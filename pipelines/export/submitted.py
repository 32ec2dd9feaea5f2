"""Packs reported to the EU, the lock they put on what they counted, and the revisions since.

`mvh export ... --submitted` marks a pack as sent to the Commission. First every submission key
the pack will count is locked: a key still submitted or reopened is approved by the exporter
("reported to the EU (period)"), so the usual approval lock refuses new versions of it; a key
returned to its partner refuses the export (decide it first, or report approved data only),
since the Commission would get figures the coordination has sent back. Then the pack is made
as any other (its README lists the keys as approved) and its snapshot is recorded in the table
`reported` of accounts.sqlite (who, when, period and as-of quarter).

A reported figure can still be corrected: a manager reopens the key with a reason and the
partner sends a new version. Every later pack then lists, in its sheet Revisions, each KPI
figure of an earlier reported pack that differs now: the pack, its as-of quarter, the KPI and
country, the value reported, the value now and the versions that made the difference. The
revisions are worked out when a snapshot is taken and frozen with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.access import accounts, approvals
from pipelines.declaration.registry import Registry
from pipelines.marts import kpis

SCHEMA = """
CREATE TABLE IF NOT EXISTS reported (
    snapshot_id TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    as_of TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL                      -- UTC, ISO 8601
);
"""
COLUMNS = ["Reported in pack", "Reported on", "Period", "As of", "KPI", "Country", "Value reported",
           "Value now", "Change", "Versions changed since"]
ALL = "All countries"


class MarkError(ValueError):
    """A pack that cannot be marked as submitted, with what to do first."""


def packs(database: Path | str | None = None) -> list[dict]:
    """The packs marked as submitted, oldest first: snapshot id, period, as-of, who and when."""
    rows = accounts.rows("SELECT snapshot_id, period, as_of, actor, at FROM reported "
                         "ORDER BY at, snapshot_id", database)
    return [dict(zip(("id", "period", "as_of", "actor", "at"), row, strict=True)) for row in rows]


def _keys(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[approvals.Key, int]:
    """The key and version of each submission id."""
    rows = con.execute("SELECT country, quarter, reporter, version FROM submissions "
                       "WHERE list_contains(?, submission_id)", [ids]).fetchall()
    return {approvals.Key(c, q, r): int(v) for c, q, r, v in rows}


def lock(con: duckdb.DuckDBPyConnection, as_of: str, approved_only: bool, label: str, actor: str,
         database: Path | str | None = None) -> list[str]:
    """Before a pack is reported: lock every key it will count (current versions up to the as-of
    quarter, or the approved ones only) by approving the open ones; return them. MarkError, with
    nothing approved, when a key was returned to its partner."""
    counted = {k: v for k, v in approvals.current(con).items() if k.quarter <= as_of}
    decided = approvals.latest(list(counted), database)
    states = {k: approvals.state(v, decided.get(k)) for k, v in counted.items()}
    returned = sorted(str(k) for k, state in states.items() if state == "returned")
    if returned and not approved_only:
        raise MarkError(f"Not reported: {', '.join(returned)} was returned to its partner. Approve it "
                        "(mvh approve) or wait for the correction, or report approved data only "
                        "(--approved-only).")
    opened = [] if approved_only else sorted(
        (k for k, state in states.items() if state in ("submitted", "reopened")),
        key=lambda k: (k.quarter, k.country, k.reporter))
    for key in opened:
        approvals.decide("approve", key, counted[key], actor, f"reported to the EU ({label})", database)
    return [str(k) for k in opened]


def record(manifest: dict, actor: str, database: Path | str | None = None) -> None:
    """Record a pack (its snapshot's manifest) as reported to the EU."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with accounts.connect(database) as con:
        con.executescript(SCHEMA)
        con.execute("INSERT OR IGNORE INTO reported VALUES (?, ?, ?, ?, ?)",
                    [manifest["id"], manifest["period"], manifest["as_of"], actor, at])
    accounts.record("export_submitted", actor, manifest["id"],
                    detail=f"period {manifest['period']}, as of {manifest['as_of']}, "
                           f"{len(manifest['submissions'])} version(s) locked")


def revisions(con: duckdb.DuckDBPyConnection, registry: Registry, snapshots: Path,
              database: Path | str | None = None, current: str = "current_submissions") -> pd.DataFrame:
    """Each KPI figure of a reported pack that differs from what `current` counts now."""
    rows = []
    for reported in packs(database):
        manifest = json.loads((snapshots / reported["id"] / "manifest.json").read_text("utf-8"))
        then = manifest["submissions"]
        now = [sid for (sid,) in con.execute(f"SELECT submission_id FROM {current} WHERE quarter <= ?",
                                             [reported["as_of"]]).fetchall()]
        if sorted(then) == sorted(now):
            continue
        con.execute("CREATE OR REPLACE TEMP VIEW as_reported AS SELECT * FROM submissions "
                    "WHERE list_contains($ids, submission_id)".replace("$ids", _ids(then)))
        before = kpis.compute(con, registry, reported["as_of"], current="as_reported")
        after = kpis.compute(con, registry, reported["as_of"], current=current)
        both = before.merge(after, on=["id", "country"], suffixes=("_then", "_now"))
        changed = both[both["value_then"] != both["value_now"]]
        why = _versions_changed(_keys(con, then), _keys(con, now))
        rows += [[reported["id"], reported["at"][:10], reported["period"], reported["as_of"], r.label_then,
                  r.country if isinstance(r.country, str) else ALL, r.value_then, r.value_now,
                  r.value_now - r.value_then, why] for r in changed.itertuples()]
    return pd.DataFrame(rows, columns=COLUMNS)


def _ids(ids: list[str]) -> str:
    """Submission ids (sha256, hex) as an SQL list literal: a view's definition takes no parameters."""
    return "[" + ", ".join(f"'{sid}'" for sid in ids if sid.isalnum()) + "]"


def _versions_changed(then: dict[approvals.Key, int], now: dict[approvals.Key, int]) -> str:
    """E.g. "BG 2022-Q3 v2 → v3; IT 2022-Q4 Regione Campania: new v1"."""
    changes = []
    for key in sorted(set(then) | set(now), key=lambda k: (k.quarter, k.country, k.reporter)):
        old, new = then.get(key), now.get(key)
        if old == new:
            continue
        changes.append(f"{key} v{old} → v{new}" if old and new else
                       f"{key}: new v{new}" if new else f"{key} v{old}: not counted now")
    return "; ".join(changes)

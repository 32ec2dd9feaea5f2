"""Frozen export inputs: the rows an export used, as Parquet, reopened as an in-memory DuckDB.

A snapshot lives in `snapshots/<id>/` beside the database:
- one Parquet file per table: `submissions` (every version up to the as-of quarter, without
  stored path and uploader), `findings` (their rule and place, without the values found),
  `cover` (partner only: no names or e-mail addresses) and each template table sheet
  (`councils`, `authorities`, `activities`, `outreach`: the rows of the current versions);
  `registers` and `participations`, the current participant registers, pseudonymised (a
  person is a keyed hash: participant codes are never stored anywhere);
- `review`: the review state of every key up to the as-of quarter when it was taken
  (pipelines/access/approvals.py), so the pack says which quarters were approved; with
  `approved_only`, `submissions` holds the versions of approved keys only, and so every table;
- `revisions`: the KPI figures of packs reported to the EU earlier that differ now
  (pipelines/export/submitted.py);
- `registry.json`, the declaration (indicators.yaml) in force, so targets, rules and labels
  are frozen too;
- `manifest.json`: id, created at, period, as-of quarter, the submissions used and the sha256
  of every file above.
The id hashes the submissions used, the period, the as-of quarter and the declaration, so the
same inputs give the same id and a correction gives a new one. `load` reopens a snapshot with
the same table names and a `current_submissions` view, so the export code cannot tell it from
the live database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import ValidationError

from pipelines.access import approvals
from pipelines.declaration.registry import Registry
from pipelines.export import submitted
from pipelines.marts import people
from pipelines.store import db, register_load
from pipelines.store.load import CURRENT_VIEW


class SnapshotError(Exception):
    """A snapshot is missing or damaged; the message says what to do."""


@dataclass
class Snapshot:
    """An opened snapshot: its manifest, its declaration and an in-memory database."""

    id: str
    manifest: dict
    registry: Registry
    con: duckdb.DuckDBPyConnection

    def close(self) -> None:
        self.con.close()


def directory(database: Path | str | None = None) -> Path:
    """Where snapshots live: beside the database."""
    return db.beside("snapshots", database)


def _queries(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: str,
             approved_only: bool) -> dict[str, str]:
    """The input rows of an export as of a quarter (as_of is a checked quarter, e.g. 2022-Q4);
    of the approved keys only (the temporary view approved_keys) with `approved_only`."""
    upto = f"quarter <= '{as_of}'" + (" AND (country, quarter, reporter) IN (SELECT * FROM approved_keys)"
                                      if approved_only else "")
    used = f"submission_id IN (SELECT submission_id FROM current_submissions WHERE {upto})"
    queries = {
        "submissions": f"SELECT * EXCLUDE (stored_path, uploaded_by) FROM submissions WHERE {upto}",
        "review": "SELECT * FROM review",
        "revisions": "SELECT * FROM revisions",
        "findings": "SELECT submission_id, severity, sheet, cell, rule FROM findings WHERE "
        f"submission_id IN (SELECT submission_id FROM submissions WHERE {upto})",
        # the partner organisation only: who reported it and their e-mail stay in the database
        registry.cover.id: f"SELECT submission_id, country, quarter, partner FROM {registry.cover.id} "
        f"WHERE {used}",
    }
    for sheet in registry.template.sheets:
        if sheet.layout == "table":
            queries[sheet.id] = f"SELECT * FROM {sheet.id} WHERE {used}"
    if people.has_registers(con):  # pseudonymised rows of the current registers (no codes exist)
        upto = f"quarter <= '{as_of}'"  # registers are not reviewed: all of them count
        counted = f"register_id IN (SELECT register_id FROM current_registers WHERE {upto})"
        queries["registers"] = f"SELECT * EXCLUDE (uploaded_by) FROM registers WHERE {upto}"
        queries["participations"] = f"SELECT * FROM participations WHERE {counted}"
        queries["people_first"] = f"SELECT * FROM people_first WHERE first_quarter <= '{as_of}'"
    return {name: f"{sql} ORDER BY ALL" for name, sql in queries.items()}


def snapshot_id(submissions: list[str], period: str, as_of: str, registry: Registry) -> str:
    declaration = hashlib.sha256(registry.model_dump_json().encode()).hexdigest()
    key = json.dumps([sorted(submissions), period, as_of, declaration])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def freeze(
    con: duckdb.DuckDBPyConnection, registry: Registry, period: str, as_of: str, root: Path,
    review: list[dict], approved_only: bool = False, revisions: pd.DataFrame | None = None,
) -> str:
    """Store the inputs of an export (period "2022-Q1..2022-Q4") unless stored; return the id.
    `review` is the review state of each key (approvals.table) and `revisions` the figures of
    earlier reported packs that changed (submitted.revisions), frozen with the inputs."""
    frame = pd.DataFrame(review, columns=REVIEW_COLUMNS)
    con.register("review", frame)
    revisions = pd.DataFrame(columns=submitted.COLUMNS) if revisions is None else revisions
    con.register("revisions", revisions)
    approved = frame[frame["state"] == "approved"][["country", "quarter", "organisation"]]
    con.register("approved_keys", approved)
    used = [
        row[0]
        for row in con.execute(
            "SELECT submission_id FROM current_submissions WHERE quarter <= ? "
            + ("AND (country, quarter, reporter) IN (SELECT * FROM approved_keys) " if approved_only else "")
            + "ORDER BY 1", [as_of]
        ).fetchall()
    ]
    registers = [row[0] for row in con.execute(
        "SELECT register_id FROM current_registers WHERE quarter <= ? ORDER BY 1", [as_of]
    ).fetchall()] if people.has_registers(con) else []
    revised = [" ".join(map(str, r)) for r in revisions.itertuples(index=False)]
    # a decision, or a revision of a reported pack, gives a new id
    sid = snapshot_id(used + registers + review_of(frame) + revised, period, as_of, registry)
    target = root / sid
    if (target / "manifest.json").exists():
        return sid
    work = root / f".{sid}.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    queries = _queries(con, registry, as_of, approved_only)
    for name, sql in queries.items():
        con.execute(f"COPY ({sql}) TO '{_quoted(work / f'{name}.parquet')}' (FORMAT parquet)")
    (work / "registry.json").write_text(registry.model_dump_json(indent=1), encoding="utf-8")
    manifest = {
        "id": sid,
        "created_at": dt.datetime.now().isoformat(timespec="seconds"),
        "period": period,
        "as_of": as_of,
        "approved_only": approved_only,
        "submissions": used,
        "tables": list(queries),
        "sha256": {f.name: _sha256(f) for f in sorted(work.iterdir())},
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    try:
        work.rename(target)
    except OSError:  # stored meanwhile by another export of the same inputs
        shutil.rmtree(work, ignore_errors=True)
    return sid


def take(database: Path | str | None, registry: Registry, period: str, as_of: str,
         approved_only: bool = False) -> str:
    """Freeze the live database's inputs of an export, with the review state of its keys; the
    database is opened read-only."""
    con = db.connect(database)
    try:
        review = approvals.table(con, registry, as_of, database)
        counted = approvals.approved_only(con, database) if approved_only else "current_submissions"
        revisions = submitted.revisions(con, registry, directory(database), database, counted)
        return freeze(con, registry, period, as_of, directory(database), review, approved_only, revisions)
    finally:
        con.close()


def load(root: Path, sid: str) -> Snapshot:
    """Open a stored snapshot as an in-memory database, after checking its files' hashes."""
    if not re.fullmatch(r"[0-9a-f]{12}", sid):
        raise SnapshotError(f"{sid!r} is not a snapshot id (12 hex digits, see `mvh snapshots`)")
    folder = root / sid
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise SnapshotError(
            f"no snapshot {sid!r} in {root}; `mvh snapshots` lists the stored ones"
        ) from None
    changed = [
        name
        for name, digest in manifest["sha256"].items()
        if not (folder / name).is_file() or _sha256(folder / name) != digest
    ]
    if changed:
        raise SnapshotError(f"snapshot {sid} was altered: {', '.join(changed)} changed")
    try:
        registry = Registry.model_validate_json((folder / "registry.json").read_text("utf-8"))
    except ValidationError as exc:
        raise SnapshotError(
            f"snapshot {sid} holds a declaration this version cannot read "
            f"({exc.error_count()} problem(s), e.g. {exc.errors()[0]['loc']}); "
            "regenerate it with the version that took it"
        ) from None
    con = duckdb.connect()
    for table in manifest["tables"]:
        path = _quoted(folder / f"{table}.parquet")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}')")
    con.execute(CURRENT_VIEW)
    if "registers" in manifest["tables"]:
        con.execute(register_load.CURRENT_VIEW)
    return Snapshot(sid, manifest, registry, con)


def listing(root: Path) -> list[dict]:
    """The stored snapshots, oldest first: id, created at, period, as-of, submissions used."""
    manifests = [json.loads(p.read_text("utf-8")) for p in root.glob("*/manifest.json")]
    return sorted(
        (
            {k: m[k] for k in ("id", "created_at", "period", "as_of")}
            | {"submissions": len(m["submissions"])}
            for m in manifests
        ),
        key=lambda m: (m["created_at"], m["id"]),
    )


REVIEW_COLUMNS = ["country", "quarter", "organisation", "version", "state", "decided_action",
                  "decided_actor", "decided_at", "decided_reason"]


def review_of(frame: pd.DataFrame) -> list[str]:
    """The review states as texts for the snapshot's id: a decision taken since gives a new id."""
    return [f"{r.country} {r.quarter} {r.organisation} {r.version} {r.state}" for r in frame.itertuples()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")

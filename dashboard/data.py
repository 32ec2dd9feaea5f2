"""What the pages read from the database: opened read-only per call and closed at once.

The ingest is the only writer; the dashboard never holds the database open between requests.
Answers are kept until the database (its file or its write-ahead log) or the quarantine folder
changes, so a page shown again does not query again. Rejected files are not in the database:
their findings are read from the quarantine folder.

A reader who switches to approved data only (the header's switch, kept in their session) gets
the KPIs, their rows and the entities of approved quarters only: their connection's
`current_submissions` is shadowed by the approved ones (approvals.approved_only). Submissions,
findings and participant registers are never filtered: registers are not reviewed.
"""

from __future__ import annotations

import copy
import functools
import json
from contextlib import contextmanager

import flask
import pandas as pd

from dashboard import i18n
from pipelines.access import accounts, approvals
from pipelines.declaration import registry
from pipelines.export import pack
from pipelines.marts import kpis, people, projection, provenance
from pipelines.store import db


@contextmanager
def reading():
    con = db.connect(read_only=True)
    try:
        yield con
    finally:
        con.close()


def approved_only() -> bool:
    """Whether the reader of this request counts approved quarters only (the header's switch)."""
    return flask.has_request_context() and bool(flask.session.get("approved_only"))


@contextmanager
def counting():
    """A read-only connection whose current submissions are the ones this reader counts: the
    approved ones only when they switched to approved data."""
    with reading() as con:
        if approved_only():
            approvals.approved_only(con, name="current_submissions")
        yield con


def approved_share() -> tuple[int, int]:
    """How many of the current versions are approved, of how many."""
    with reading() as con:
        versions = approvals.current(con)
    decided = approvals.latest(list(versions))
    approved = sum(approvals.state(v, decided.get(k)) == "approved" for k, v in versions.items())
    return approved, len(versions)


def _signature() -> tuple:
    """What changes when the ingest writes: size and time of the database, its WAL, the quarantine;
    for a reader of approved data only, also the decisions (kept beside the database)."""
    path = db.path()
    watched = [path, path.with_name(path.name + ".wal"), db.quarantine_dir()]
    if approved_only():
        decisions = accounts.path()
        watched += [decisions, decisions.with_name(decisions.name + "-wal")]
    stats = []
    for p in watched:
        try:
            stat = p.stat()
            stats.append((stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            stats.append(None)
    return str(path), approved_only(), *stats


def kept(reader):
    """Keep a reader's answers while the database is unchanged; each caller gets its own copy."""
    answers: dict = {}
    missing = object()

    @functools.wraps(reader)
    def read(*args, **kwargs):
        key = (_signature(), args, tuple(sorted(kwargs.items())))
        answer = answers.get(key, missing)  # one lookup: another thread may empty the dict
        if answer is missing:
            answer = reader(*args, **kwargs)
            if len(answers) >= 128:
                answers.clear()
            answers[key] = answer
        return copy.deepcopy(answer)

    return read


def _frame(sql: str, **params) -> pd.DataFrame:
    with reading() as con:
        return con.execute(sql, params).df()


@kept
def latest_quarter() -> str | None:
    """The last quarter with a submission; None when there is no database yet."""
    try:
        with reading() as con:
            return kpis.latest_quarter(con, registry.get())
    except db.NoDatabase:
        return None


@kept
def kpi_series(up_to: str) -> pd.DataFrame:
    """Every KPI, overall and per country, for each quarter up to `up_to`."""
    with counting() as con:
        return kpis.series(con, registry.get(), up_to)


@kept
def kpis_at(as_of: str) -> pd.DataFrame:
    """Every KPI, overall and per country, as of one quarter (kpis.compute)."""
    with counting() as con:
        return kpis.compute(con, registry.get(), as_of)


@kept
def one_offs(kpi_id: str, up_to: str) -> pd.DataFrame:
    """A KPI's one-off figures per country and quarter up to a quarter (pipelines/marts/projection.py)."""
    reg = registry.get()
    with counting() as con:
        return projection.one_offs(con, reg, reg.kpi(kpi_id), up_to)


@kept
def kpi_summary(first: str, last: str, as_of: str) -> pd.DataFrame:
    """The EU export pack's KPI summary of a period as of a quarter, built by the pack's own code
    on the data this reader counts (pipelines/export/pack.py), to be seen before the download."""
    with counting() as con:
        return pack.kpi_summary(pack.Scope(con, registry.get(), pack.Period(first, last), as_of)).frame


@kept
def kpi_rows(kpi_id: str, as_of: str, country: str | None = None) -> pd.DataFrame:
    """The rows behind a KPI value, with file, version, sheet and cell (pipelines/marts/provenance.py)."""
    with counting() as con:
        return provenance.rows(con, registry.get(), kpi_id, as_of, country)


@kept
def sheet_rows(sheet: str, field: str, as_of: str, country: str | None = None) -> pd.DataFrame:
    """Every row of a sheet in current versions up to as-of, with the cell of `field`."""
    with counting() as con:
        return provenance.sheet_rows(con, registry.get(), sheet, field, as_of, country)


@kept
def people_counts(as_of: str, country: str | None = None) -> dict[str, pd.DataFrame]:
    """From the participant registers (pipelines/marts/people.py): per quarter, by sex x age bracket
    (unique participants, each person once) and per country, up to the as-of quarter."""
    reg = registry.get()
    with reading() as con:
        return {"quarters": people.by_quarter(con, reg, as_of, country),
                "sex_age": people.by_sex_age(con, reg, as_of, country),
                "countries": people.by_country(con, reg, as_of)}


@kept
def collected(as_of: str) -> set[str]:
    """The countries with a participant register up to the as-of quarter (people.collected): for
    the others, unique participants are not collected, not 0."""
    with reading() as con:
        return people.collected(con, as_of)


def shown(kpi_id: str, value: float, country: str | None, as_of: str) -> float | str:
    """A KPI's value as a page shows it: "not collected" for a count of the participant registers
    in a country that kept none up to the quarter."""
    register = registry.get().kpi(kpi_id).source.register_count
    missing = register and country is not None and country not in collected(as_of)
    return people.NOT_COLLECTED if missing else value


@kept
def submissions() -> pd.DataFrame:
    """Every accepted file, all versions, with what its cover says (partner, who reported, the
    date it was sent, remarks: NULL where the declaration's cover has no such field)."""
    reg = registry.get()
    said = ", ".join(f"{'c.' + field if field else 'NULL'} AS {role}" for role, field in
                     ((r, reg.cover_field(r)) for r in ("reported_by", "submitted_on", "notes")))
    return _frame(f"""
        SELECT s.country, s.quarter, s.version, s.file_name, c.partner, {said},
               s.received_at, s.uploaded_by, s.submission_id,
               s.version = max(s.version) OVER (PARTITION BY s.country, s.quarter, s.reporter) AS current
        FROM submissions s LEFT JOIN {reg.cover.id} c USING (submission_id)
        ORDER BY s.country, s.quarter, s.version
    """)


def review_states(as_of: str) -> pd.DataFrame:
    """The review state of every submission's key up to a quarter (pipelines/access/approvals.py),
    read at each call: the decisions are kept beside the database, not in it."""
    with reading() as con:
        return pd.DataFrame(approvals.table(con, registry.get(), as_of),
                            columns=["country", "quarter", "organisation", "version", "state"])


@kept
def findings() -> pd.DataFrame:
    """The warnings kept with accepted submissions and register files, with their country,
    quarter and file, and whether that file is its key's current version (`current`)."""
    with reading() as con:
        registers = ("""UNION ALL SELECT register_id, country, quarter, file_name, version, received_at,
                        register_id IN (SELECT register_id FROM current_registers)
                        FROM registers WHERE submission_id IS NULL""" if people.has_registers(con) else "")
        return con.execute(f"""
            SELECT s.country, s.quarter, c.partner, s.file_name, s.version,
                   f.*, s.received_at AS at, s.current
            FROM findings f JOIN (
                SELECT submission_id, country, quarter, file_name, version, received_at,
                       submission_id IN (SELECT submission_id FROM current_submissions) AS current
                FROM submissions
                {registers}) s USING (submission_id)
            LEFT JOIN {registry.get().cover.id} c ON c.submission_id = f.submission_id
            ORDER BY s.country, s.quarter, s.version
        """).df()


@kept
def rejected() -> list[dict]:
    """The rejected files: each quarantine report (file_name, sha256, rejected_at, findings,
    uploaded_by) with the country and quarter it is filed under ("" when they could not be
    told, or when its sender may not report for the country it names: see
    pipelines/store/quarantine.py). A quarantined file is never opened here: it is untrusted."""
    folder = db.quarantine_dir()
    return [json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("*.json"))] \
        if folder.exists() else []


def counted(entity: str, as_of: str, country: str | None = None) -> dict[tuple[str, str], list[str]]:
    """(country, id) -> the labels of the KPIs each entity of a kind counts toward, as of the
    quarter, in the reader's language."""
    reg = registry.get()
    found: dict[tuple[str, str], list[str]] = {}
    for kpi in (k for k in reg.kpis if k.source.entity == entity):
        rows = kpi_rows(kpi.id, as_of, country)
        for key in zip(rows["country"], rows["record"], strict=True):
            found.setdefault(key, []).append(i18n.kpi(kpi))
    return found

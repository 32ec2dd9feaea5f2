"""Load participant registers into DuckDB, pseudonymised, one transaction per register.

Tables and their grain:
- registers: one row per accepted register (`register_id`: the sha256 of its file, or of the
  workbook carrying it as a sheet, then also its `submission_id`), keyed like submissions by
  country, quarter and reporter (the partner organisation where the country reports per
  organisation, else ''); `version` counts the registers accepted for the same key. The view
  current_registers keeps the latest version of each key: a corrected register supersedes the
  earlier one. A workbook without a register sheet leaves its quarter's register as it was.
  A register sheet belongs to its workbook's organisation; a register file, to the uploader's
  organisation, else to the one organisation that reported the quarter (with several, it is
  refused: it should travel as the Register sheet of the organisation's workbook).
- participations: one row per register row, with `source_row`, `person` (the keyed hash of
  country and participant code, pipelines/store/pseudonym.py) in place of the code, and the other
  register fields; in a country reporting per organisation, the hash is of country,
  organisation and code, as each organisation chooses its own codes. The participant code
  itself is never stored: not here, not in findings,
  not in the quarantine.
- people_first: one row per country and person of the current registers, with the first
  quarter listing them (rebuilt for the country on each register load).
A register file's bytes are not kept either (they hold the codes): its sha256, name and size are.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.access import approvals
from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.intake import register_checks, sandbox
from pipelines.intake.findings import Finding, has_errors
from pipelines.intake.register import Register
from pipelines.store import db, pseudonym, quarantine
from pipelines.store.quarantine import Sender

SCHEMA = """
CREATE TABLE IF NOT EXISTS registers (
    register_id VARCHAR PRIMARY KEY,        -- sha256 of the file (or of the workbook carrying it)
    country VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    reporter VARCHAR NOT NULL,              -- the organisation in the key, '' if consolidated
    version INTEGER NOT NULL,               -- 1, 2, ... per country, quarter and reporter
    kind VARCHAR NOT NULL,                  -- sheet | csv | parquet | xlsx
    file_name VARCHAR NOT NULL,
    sheet_name VARCHAR,
    size_bytes BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    uploaded_by VARCHAR,
    submission_id VARCHAR,                  -- the workbook it came in, for a register sheet
    UNIQUE (country, quarter, reporter, version)
);
"""
# Each person of a country once, with the first quarter a current register lists them in: kept
# up to date on every register load, so counting unique participants as of a quarter is a count
# of rows (first_quarter <= as-of), not a distinct count over every participation.
PEOPLE_FIRST = """
CREATE TABLE IF NOT EXISTS people_first (
    country VARCHAR NOT NULL,
    person BIGINT NOT NULL,                 -- one row per country and person
    first_quarter VARCHAR NOT NULL
);
"""
# The latest register of each key (country, quarter, reporter): the only one that counts.
CURRENT_VIEW = """
CREATE OR REPLACE VIEW current_registers AS
    SELECT * FROM registers
    QUALIFY version = max(version) OVER (PARTITION BY country, quarter, reporter);
"""
SQL_TYPES = {"date": "DATE"}


def ensure_schema(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """The registers table, its view and participations (columns from the register's fields);
    none for a project without participant registers."""
    spec = registry.participant_register
    if spec is None:
        return
    db.rekey(con, "registers", SCHEMA.split(";")[0], "current_registers", {"reporter": "''"})
    con.execute(SCHEMA + CURRENT_VIEW + PEOPLE_FIRST)
    con.execute("CREATE TABLE IF NOT EXISTS participations (register_id VARCHAR NOT NULL, "
                "country VARCHAR NOT NULL, quarter VARCHAR NOT NULL, source_row INTEGER, "
                "person BIGINT NOT NULL)")
    for f in spec.sheet.fields:
        if f.id != spec.code:
            kind = SQL_TYPES.get(f.type, "VARCHAR")
            con.execute(f"ALTER TABLE participations ADD COLUMN IF NOT EXISTS {f.id} {kind}")


def known(con: duckdb.DuckDBPyConnection, registry: Registry) -> set[str]:
    """The registers already loaded (none in a project without participant registers)."""
    if registry.participant_register is None:
        return set()
    return {row[0] for row in con.execute("SELECT register_id FROM registers").fetchall()}


def insert(con: duckdb.DuckDBPyConnection, registry: Registry, reg: Register, reporter: str,
           uploaded_by: str | None = None) -> int:
    """Insert a validated register of a key (its country, quarter and `reporter`) inside the
    caller's transaction; return its version."""
    spec = registry.participant_register
    version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM registers WHERE country = ? "
                          "AND quarter = ? AND reporter = ?",
                          [reg.country, reg.quarter, reporter]).fetchone()[0]
    sheet = reg.name if reg.kind in ("sheet", "xlsx") else None
    con.execute("INSERT INTO registers BY NAME SELECT ? AS register_id, ? AS country, ? AS quarter, "
                "? AS reporter, ? AS version, ? AS kind, ? AS file_name, ? AS sheet_name, "
                "? AS size_bytes, ? AS rows, ? AS received_at, ? AS uploaded_by, ? AS submission_id",
                [reg.id, reg.country, reg.quarter, reporter, version, reg.kind, reg.path.name, sheet,
                 reg.size, len(reg.frame), dt.datetime.now(), uploaded_by, reg.submission_id])
    scope = f"{reg.country}{pseudonym.SEPARATOR}{reporter}" if reporter else reg.country
    frame = reg.frame.rename(columns={"_row": "source_row"})
    frame = frame.assign(person=pseudonym.persons(frame[spec.code], scope)).drop(columns=[spec.code])
    for f in spec.sheet.fields:
        if f.type == "date":
            frame[f.id] = frame[f.id].dt.date
    frame.insert(0, "register_id", reg.id)
    frame.insert(1, "country", reg.country)
    frame.insert(2, "quarter", reg.quarter)
    db.insert_frame(con, "participations", frame)
    con.execute("DELETE FROM people_first WHERE country = $c", {"c": reg.country})
    con.execute("""INSERT INTO people_first SELECT country, person, min(quarter) FROM participations
                   WHERE register_id IN (SELECT register_id FROM current_registers WHERE country = $c)
                   GROUP BY country, person""", {"c": reg.country})
    return int(version)


def reporters(con: duckdb.DuckDBPyConnection, country: str, quarter: str) -> list[str]:
    """The keys' reporters of a country's quarter that have a current workbook."""
    return [row[0] for row in con.execute(
        "SELECT reporter FROM current_submissions WHERE country = ? AND quarter = ? ORDER BY 1",
        [country, quarter]).fetchall()]


def activities(con: duckdb.DuckDBPyConnection, registry: Registry, country: str, quarter: str,
               reporter: str) -> pd.DataFrame | None:
    """The Activities rows of the current workbook of a key; None when none is loaded."""
    sheet = registry.participant_register.reconcile.sheet
    found = con.execute("SELECT submission_id FROM current_submissions WHERE country = ? AND quarter = ? "
                        "AND reporter = ?", [country, quarter, reporter]).fetchone()
    if found is None:
        return None
    return con.execute(f"SELECT * FROM {sheet} WHERE submission_id = ?", [found[0]]).df()


def _reporter(con, registry: Registry, reg: Register, sender: Sender) -> tuple[str, Finding | None]:
    """Whose register file this is: in a country reporting per organisation, the uploader's
    organisation, else the one organisation with a workbook for the quarter; with several and no
    uploader's organisation, an error asking for it as the Register sheet of the workbook."""
    if not registry.per_partner(reg.country):
        return "", None
    if sender.organisation:
        return registry.reporter(reg.country, sender.organisation), None
    found = reporters(con, reg.country, reg.quarter)
    if len(found) == 1:
        return found[0], None
    return "", F.error("register_organisation", value=reg.quarter, expected=", ".join(found))


def settle(con: duckdb.DuckDBPyConnection, registry: Registry, reg: Register, outcome,
           db_path: Path | str | None, sender: Sender) -> None:
    """Check a register file against its quarter's workbook; load it, or quarantine its findings."""
    outcome.country, outcome.quarter = reg.country, reg.quarter
    reporter, unplaced = _reporter(con, registry, reg, sender)
    if sender.country and reg.country and reg.country != sender.country:
        # refused before any check: the checks compare it with that country's activities
        found = [*reg.findings, F.error("uploader_country", value=reg.country, expected=sender.country)]
    elif unplaced:
        found = [*reg.findings, unplaced]
    elif locked := approvals.refused(approvals.Key(reg.country, reg.quarter, reporter), db_path):
        found = [*reg.findings, *locked]
    else:
        found = _checked(reg, registry, activities(con, registry, reg.country, reg.quarter, reporter)
                         if reg.country else None)
    outcome.findings = found
    outcome.organisation = reporter
    if has_errors(found):
        outcome.status = "rejected"
        quarantine.file(reg.path, reg.id, found, db_path, sender, reg.country, reg.quarter, register=True)
        return
    con.execute("BEGIN TRANSACTION")
    try:
        outcome.version = insert(con, registry, reg, reporter, sender.by)
        if found:
            db.insert_frame(con, "findings",
                            pd.DataFrame([{"submission_id": reg.id, **f.as_dict()} for f in found]))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    outcome.status = "accepted"


def _checked(reg: Register, registry: Registry, activities: pd.DataFrame | None) -> list[Finding]:
    """The register's findings, worked out in the sandbox (pipelines/intake/sandbox.py)."""
    try:
        return sandbox.run(register_checks.check, reg, registry, activities,
                           timeout=sandbox.seconds_for(reg.size))
    except sandbox.Refused as refused:
        return [*reg.findings, F.error("unreadable", reason=str(refused))]

"""Where the database and everything kept beside it live (the one catalog), and how to open it.

Beside the database (data/processed/ unless $MVH_DB says otherwise), by what it holds: BESIDE.
The single writer's own files are named after the database (pipelines/store/writer.py: the
working copy mvh.writer.duckdb, its .lock and .published marker).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import ROOT

if TYPE_CHECKING:
    import duckdb

DEFAULT_DB = ROOT / "data" / "processed" / "mvh.duckdb"
DEFAULT_RAW = ROOT / "data" / "raw"


BESIDE = {
    "files": "files",                # accepted uploads, byte for byte, named by their sha256
    "quarantine": "quarantine",      # rejected uploads, byte for byte, with their findings
    "snapshots": "snapshots",        # the frozen inputs of each export, by snapshot id
    "uploads": "uploads",            # files received on the web, kept before they are checked
    "queue": "queue",                # upload jobs waiting for the single writer, and results
    "accounts": "accounts.sqlite",   # logins, roles, the audit trail, failed-login counters
    "secret_key": "secret.key",      # signs sessions when MVH_SECRET_KEY is not set
}


class NoDatabase(Exception):
    """The database does not exist yet."""


def path(db: Path | str | None = None) -> Path:
    """The database file: the one given, else $MVH_DB, else data/processed/mvh.duckdb."""
    return Path(db or os.environ.get("MVH_DB") or DEFAULT_DB)


def beside(what: str, db: Path | str | None = None) -> Path:
    """Where something of BESIDE is kept for the database given (default: this one)."""
    return path(db).parent / BESIDE[what]


def files_dir(db: Path | str | None = None) -> Path:
    return beside("files", db)


def quarantine_dir(db: Path | str | None = None) -> Path:
    return beside("quarantine", db)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Insert a DataFrame's rows by column name (registering a frame is fast; executemany is not)."""
    con.register("incoming", frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def rekey(con: duckdb.DuckDBPyConnection, table: str, create: str, view: str,
          added: dict[str, str]) -> None:
    """Bring a table made before its key gained columns up to date: its rows copied into the
    table as `create` makes it now, the new columns filled with the SQL values of `added`
    (DuckDB cannot change a table's UNIQUE constraint in place). Nothing to do on a new
    database or an up-to-date one."""
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
    if not columns or set(added) <= columns:
        return
    filled = ", ".join(f"{value} AS {name}" for name, value in added.items())
    con.execute(f"""
        DROP VIEW IF EXISTS {view};
        ALTER TABLE {table} RENAME TO {table}_before_rekey;
        {create};
        INSERT INTO {table} BY NAME SELECT *, {filled} FROM {table}_before_rekey;
        DROP TABLE {table}_before_rekey;
    """)


def connect(db: Path | str | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database; readers open it read-only and close it as soon as they are done."""
    import duckdb  # here, so that finding paths does not import DuckDB (`mvh --help`)

    target = path(db)
    if read_only and not target.exists():
        raise NoDatabase(f"No database at {target}. Run `mvh ingest` (or `make ingest`) first.")
    target.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(target), read_only=read_only)

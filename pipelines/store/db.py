"""Where the database and the stored files live, and how to open the database."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.declaration.registry import ROOT

DEFAULT_DB = ROOT / "data" / "processed" / "mvh.duckdb"
DEFAULT_RAW = ROOT / "data" / "raw"


class NoDatabase(Exception):
    """The database does not exist yet."""


def path(db: Path | str | None = None) -> Path:
    """The database file: the one given, else $MVH_DB, else data/processed/mvh.duckdb."""
    return Path(db or os.environ.get("MVH_DB") or DEFAULT_DB)


def files_dir(db: Path | str | None = None) -> Path:
    """Accepted uploads, byte for byte, named by their sha256, beside the database."""
    return path(db).parent / "files"


def quarantine_dir(db: Path | str | None = None) -> Path:
    """Rejected uploads, byte for byte, with their findings, beside the database."""
    return path(db).parent / "quarantine"


def connect(db: Path | str | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database; readers open it read-only and close it as soon as they are done."""
    target = path(db)
    if read_only and not target.exists():
        raise NoDatabase(f"No database at {target}. Run `mvh ingest` (or `make ingest`) first.")
    target.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(target), read_only=read_only)

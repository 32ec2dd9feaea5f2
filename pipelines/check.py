"""Check one workbook without loading it: findings in the partner's language, an annotated copy.

The database, when there is one, is only read (for the checks across quarters and the ids
reported before); nothing is written to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import annotate, db, history, messages, read, validate
from pipelines.findings import Finding
from pipelines.ingest import ANNOTATED_SUFFIX
from pipelines.registry import Registry


@dataclass
class Checked:
    book: read.ReadBook
    findings: list[Finding]
    lang: str
    annotated: Path | None  # None when the file could not be opened as a workbook

    def localised(self, registry: Registry) -> list[dict]:
        """The findings as dicts, message and fix in the partner's language."""
        rows = []
        for f in self.findings:
            message, fix = messages.localise(f, self.lang, registry)
            rows.append({**f.as_dict(), "message": message, "fix": fix})
        return rows


def past(registry: Registry, db_path: Path | str | None) -> history.History:
    """What earlier submissions say; empty when there is no database yet."""
    try:
        con = db.connect(db_path, read_only=True)
    except (db.NoDatabase, duckdb.Error):
        return history.History()
    try:
        return history.load(con, registry)
    except duckdb.CatalogException:  # a database without the tables yet
        return history.History()
    finally:
        con.close()


def check(path: Path, registry: Registry, db_path: Path | str | None = None, lang: str | None = None,
          annotated: Path | None = None, uploader_country: str | None = None) -> Checked:
    book = read.read(path, registry)
    found = validate.validate([book], registry, past(registry, db_path), uploader_country)[book.sha256]
    lang = lang or book.stamp.get("language") or "en"
    target = None
    if book.sheets:
        target = annotate.write(path, annotated or path.with_name(path.stem + ANNOTATED_SUFFIX),
                                found, lang, registry)
    return Checked(book, found, lang, target)

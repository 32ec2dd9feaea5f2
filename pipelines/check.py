"""Check one workbook without loading it: findings in the partner's language, an annotated copy.

The database, when there is one, is only read (for the checks across quarters and the ids
reported before); nothing is written to it. The file is read, validated and marked in
sandboxed child processes (pipelines/intake/sandbox.py); one it cannot read within the limits gets the
finding "unreadable". A file that is empty, too large or no zip at all is refused first, by the
standard library alone (container.check_file): `mvh check` of such a file imports neither pandas
nor great-expectations nor starts the sandbox, which is why those are imported where used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import stages
from pipelines.intake import container, messages
from pipelines.intake.book import ReadBook
from pipelines.intake.findings import Finding

if TYPE_CHECKING:
    from pipelines.declaration.registry import Registry
    from pipelines.intake import history

MARK_SECONDS = 10


@dataclass
class Checked:
    book: ReadBook
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
    import duckdb

    from pipelines.intake import history
    from pipelines.store import db

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
          annotated: Path | None = None, uploader_country: str | None = None,
          mark_clean: bool = True, uploader_organisation: str | None = None) -> Checked:
    """Read, validate and (unless it has no findings and not `mark_clean`) mark a workbook; a
    sender bound to a country (and organisation) gets only their own workbooks checked."""
    found = container.check_file(path)  # empty, too large, no zip: refused before the sandbox
    if found:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return Checked(ReadBook(path, digest, path.stat().st_size, findings=found), found, lang or "en", None)
    from pipelines.ingest import ANNOTATED_SUFFIX
    from pipelines.intake import read, sandbox

    stages.reached(stages.READING)
    book = read.in_sandbox(path, registry)
    stages.reached(stages.CHECKING)
    try:
        checked = sandbox.run(examine, book, registry, past(registry, db_path), lang,
                              (uploader_country, uploader_organisation),
                              timeout=sandbox.seconds_for(path.stat().st_size))
    except sandbox.Refused as refused:
        book = read.unreadable(path, str(refused))
        return Checked(book, book.findings, lang or "en", None)
    if checked.book.sheets and (checked.findings or mark_clean):
        target = annotated or path.with_name(path.stem + ANNOTATED_SUFFIX)
        checked.annotated = marked_copy(path, target, checked.findings, checked.lang, registry)
    return checked


def examine(book: ReadBook, registry: Registry, earlier: history.History, lang: str | None,
            sender: tuple[str | None, str | None]) -> Checked:
    """Validate one workbook as read (in the sandbox) for a sender (country, organisation)."""
    from pipelines.intake import validate

    found = validate.validate([book], registry, earlier, validate.Allowed(*sender))[book.sha256]
    return Checked(book, found, lang or book.stamp.get("language") or "en", None)


def marked_copy(path: Path, target: Path, found: list[Finding], lang: str, registry: Registry) -> Path | None:
    """The workbook with its findings marked, written in the sandbox; None when it can't be made
    cheaply (annotate.affordable) or in MARK_SECONDS: the findings are shown all the same."""
    from pipelines.intake import annotate, sandbox

    if not annotate.affordable(path):
        return None
    stages.reached(stages.MARKING)
    try:
        return sandbox.run(annotate.write, path, target, found, lang, registry, timeout=MARK_SECONDS)
    except sandbox.Refused:
        return None

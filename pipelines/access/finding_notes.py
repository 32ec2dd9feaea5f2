"""What partners and managers say about a warning: a partner's explanation, a manager's
acceptance or request for a correction.

A warning lets a workbook in but flags a figure to check. Its partner explains it (why the value
is right, or what they will correct); a manager accepts it (the warning is closed: the Data
quality page lists it under "All, closed too") or asks for a correction (it stays open). Notes
are kept in accounts.sqlite beside the database (table `finding_notes`; the data file stays the
ingest's alone), each also a row of the audit trail. A warning is named by its file
(submission or register id), sheet, cell and rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipelines.access import accounts

ROLES = {"explain": "partner", "accept": "manager", "correct": "manager"}
AUDITED = {"explain": "warning_explained", "accept": "warning_accepted",
           "correct": "warning_correction_asked"}
VERDICTS = {"accept": "accepted", "correct": "correction asked"}
NEEDS_TEXT = ("explain", "correct")
TEXT_MAX = 1000
SCHEMA = """
CREATE TABLE IF NOT EXISTS finding_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id TEXT NOT NULL,                -- the submission's or register's id (sha256)
    sheet TEXT NOT NULL,                  -- '' where the finding names no sheet
    cell TEXT NOT NULL,
    rule TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('explain', 'accept', 'correct')),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,                     -- UTC, ISO 8601
    text TEXT
);
CREATE INDEX IF NOT EXISTS finding_notes_file ON finding_notes (file_id);
"""


class NoteError(ValueError):
    """A note that cannot be recorded, with what to do instead."""


@dataclass(frozen=True)
class Finding:
    file_id: str
    sheet: str
    cell: str
    rule: str

    @classmethod
    def of(cls, row: dict) -> Finding:
        """The finding of a row of the findings table (sheet or cell may be missing)."""
        return cls(*(str(row.get(k) or "") for k in ("submission_id", "sheet", "cell", "rule")))

    def __str__(self) -> str:
        where = "!".join(filter(None, (self.sheet, self.cell)))
        return f"{self.rule} at {where or 'the file'} of {self.file_id[:12]}"


def add(action: str, finding: Finding, actor: str, text: str | None = None,
        database: Path | str | None = None, address: str | None = None) -> None:
    """Record a note; NoteError when the action is unknown or its text is missing."""
    if action not in ROLES:
        raise NoteError(f"Unknown action {action!r}: use one of {', '.join(ROLES)}.")
    text = (text or "").strip()[:TEXT_MAX] or None
    if action in NEEDS_TEXT and not text:
        raise NoteError("Write the explanation first." if action == "explain" else
                        "Say what to correct: the partner reads it.")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with accounts.connect(database) as con:
        con.executescript(SCHEMA)
        con.execute("INSERT INTO finding_notes (file_id, sheet, cell, rule, action, actor, at, text) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [finding.file_id, finding.sheet, finding.cell, finding.rule, action, actor, at, text])
        con.execute("INSERT INTO audit (at, actor, action, target, address, detail) VALUES "
                    "(?, ?, ?, ?, ?, ?)", [at, actor[:128], AUDITED[action], str(finding), address, text])


def by_finding(database: Path | str | None = None) -> dict[Finding, list[dict]]:
    """Every note, oldest first, by finding (read without writing: a read-only disk still reads)."""
    rows = accounts.rows("SELECT file_id, sheet, cell, rule, action, actor, at, text "
                         "FROM finding_notes ORDER BY id", database)
    notes: dict[Finding, list[dict]] = {}
    for file_id, sheet, cell, rule, action, actor, at, text in rows:
        notes.setdefault(Finding(file_id, sheet, cell, rule), []).append(
            {"action": action, "actor": actor, "at": at, "text": text})
    return notes


def verdict(notes: list[dict]) -> str:
    """A manager's latest word on a warning: "accepted", "correction asked" or "" (none yet)."""
    said = [n for n in notes if n["action"] in VERDICTS]
    return VERDICTS[said[-1]["action"]] if said else ""

"""raw -> read -> validate -> load, for one file or many.

Each file is identified by the sha256 of its bytes. A file already in the database is
"unchanged"; a file with errors is "rejected": its bytes and findings go to the quarantine and
the database is not touched; an accepted file's bytes are stored under files/ and it is loaded
in one transaction, as the next version of its country and quarter (superseding earlier ones,
which stay on record); a file for a key a manager has approved is "rejected" as locked
(pipelines/access/approvals.py). Files of one call arrive in order of modification time, then name.
Participant registers given as files (.csv, .parquet, *_register.xlsx) are settled after the
workbooks of the same call, against their quarter's workbook (pipelines/store/register_load.py).
The database is written through the single writer (pipelines/store/writer.py): one ingest at a time,
readers see its work when it is published. Every file is read and validated in a sandboxed child
process (pipelines/intake/sandbox.py): a file that kills or outlasts it is rejected as "unreadable",
and the writer carries on with the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import stages
from pipelines.access import approvals
from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.intake import history, read, register, sandbox, validate
from pipelines.intake.findings import Finding, has_errors
from pipelines.store import db, load, quarantine, redact, register_load, writer
from pipelines.store.quarantine import Sender

ANNOTATED_SUFFIX = ".checked.xlsx"  # copies written by `mvh check`: never ingested from a folder


@dataclass
class Outcome:
    path: Path
    sha256: str
    status: str  # accepted | rejected | unchanged
    country: str = ""
    quarter: str = ""
    organisation: str = ""  # the organisation in its key, where the country reports per organisation
    version: int | None = None
    findings: list[Finding] = field(default_factory=list)
    language: str = ""  # the workbook's, from its stamp: the language of its messages
    register_sheet: str | None = None  # the name of its participant register sheet, if filled

    def line(self) -> str:
        what = f"{self.country} {self.quarter}".strip()
        if self.organisation:
            what += f" {self.organisation}"
        if self.status == "accepted":
            what += f" v{self.version}"
            if self.version and self.version > 1:
                what += f" (supersedes v{self.version - 1})"
        errors = [f for f in self.findings if f.severity == "error"]
        detail = (
            f"  {len(errors)} error(s), first: {errors[0].where()}: {errors[0].message}"
            if errors
            else ""
        )
        return f"{self.status:<9} {what:<24} {self.path.name}{detail}"


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """The workbooks named, folders expanded (without hidden, lock and annotated files), in order
    of arrival (mtime, then name)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [f for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "~$"))
                      and not f.name.endswith(ANNOTATED_SUFFIX)]
        else:
            found.append(p)
    return sorted(found, key=lambda f: (f.stat().st_mtime, f.name))


def ingest(
    paths: Iterable[Path | str],
    registry: Registry,
    db_path: Path | str | None = None,
    uploaded_by: str | None = None,
    uploader_country: str | None = None,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
    uploader_organisation: str | None = None,
) -> list[Outcome]:
    """Ingest the files; return one outcome per file, in the order they were taken.

    Waits for the writer lock, writes to the working copy and publishes it (pipelines/store/writer.py).
    """
    sender = Sender(uploaded_by, uploader_country, uploader_organisation)
    with writer.writing(db_path) as work:
        return ingest_into(work, dict.fromkeys(expand(paths), sender), registry, progress)


def ingest_into(
    work: Path,
    files: dict[Path, Sender],
    registry: Registry,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> list[Outcome]:
    """Ingest files, in the order given, each with its sender, into the working copy `work`, all
    validated in one batch; the caller holds the writer lock."""
    con = db.connect(work, read_only=False)
    try:
        load.ensure_schema(con, registry)
        known = {row[0] for row in con.execute("SELECT submission_id FROM submissions").fetchall()}
        known |= register_load.known(con, registry)
        outcomes, books, registers, senders = [], {}, {}, {}
        stages.reached(stages.READING)
        for path in progress(list(files)):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if sha in known or sha in books or sha in registers:
                outcomes.append(Outcome(path, sha, "unchanged"))
                continue
            if register.is_file(path):  # settled after the workbooks, which it is checked against
                registers[sha] = _read_register(path, registry, len(data))
            else:
                books[sha] = read.in_sandbox(path, registry)
            senders[sha] = files[path]
            outcomes.append(Outcome(path, sha, "pending"))
        past = history.load(con, registry)
        stages.reached(stages.CHECKING)
        results = _validate(list(books.values()), registry, past, senders)
        stages.reached(stages.LOADING)
        for outcome in outcomes:
            if outcome.sha256 in books and outcome.status == "pending":
                book = books[outcome.sha256]
                found = results[book.sha256]
                outcome.country, outcome.quarter, outcome.findings = book.country, book.quarter, found
                outcome.organisation = registry.reporter(book.country, book.organisation)
                outcome.findings += approvals.refused(
                    approvals.Key(book.country, book.quarter, outcome.organisation), work)
                outcome.language = book.stamp.get("language") or ""
                outcome.register_sheet = register_sheet(book, registry)
                _settle(con, registry, book, outcome, work, senders[book.sha256])
        for outcome in outcomes:
            if outcome.sha256 in registers and outcome.status == "pending":
                sender = senders[outcome.sha256]
                register_load.settle(con, registry, registers[outcome.sha256], outcome, work, sender)
        return outcomes
    finally:
        con.close()


def _read_register(path: Path, registry: Registry, size: int) -> register.Register:
    try:
        return sandbox.run(register.read_file, path, registry, timeout=sandbox.seconds_for(size))
    except sandbox.Refused as refused:
        book = read.unreadable(path, str(refused))
        return register.Register(book.sha256, path, book.size, path.suffix.lower().lstrip("."), path.name,
                                 findings=book.findings)


def _validate(books: list[read.ReadBook], registry: Registry, past: history.History,
              senders: dict[str, Sender]) -> dict[str, list[Finding]]:
    """Findings per workbook, validated together in the sandbox; if that fails, each alone, so
    that one workbook never stops the others."""
    if not books:
        return {}
    timeout = sum(sandbox.seconds_for(b.size) for b in books)
    allowed = {sha: validate.Allowed(s.country, s.organisation) for sha, s in senders.items()}
    try:
        return sandbox.run(validate.validate, books, registry, past, allowed, timeout=timeout)
    except sandbox.Refused as refused:
        if len(books) == 1:
            return {books[0].sha256: [*books[0].findings, F.error("unreadable", reason=str(refused))]}
        return {sha: found for b in books for sha, found in _validate([b], registry, past, senders).items()}


def _settle(
    con,
    registry: Registry,
    book: read.ReadBook,
    outcome: Outcome,
    db_path: Path | str | None,
    sender: Sender,
) -> None:
    """Quarantine a rejected file, or store and load an accepted one."""
    if has_errors(outcome.findings):
        outcome.status = "rejected"
        quarantine.file(book.path, book.sha256, outcome.findings, db_path, sender, book.country,
                        book.quarter, register_sheet=register_sheet(book, registry),
                        organisation=book.organisation)
        return
    stored = db.files_dir(db_path) / f"{book.sha256}{book.path.suffix.lower() or '.xlsx'}"
    stored.parent.mkdir(parents=True, exist_ok=True)
    if not stored.exists():
        redact.keep(book.path, stored, register_sheet(book, registry))
    outcome.version = load.load(con, registry, book, str(stored), outcome.findings, sender.by)
    outcome.status = "accepted"


def register_sheet(book: read.ReadBook, registry: Registry) -> str | None:
    """The name of the workbook's register sheet when it has rows (its codes are never kept)."""
    carried = register.from_book(book, registry)
    return carried.name if carried is not None else None

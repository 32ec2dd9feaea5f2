"""Uploads from the web: keep the bytes, queue the file, ingest it through the single writer.

An upload is first kept byte for byte as uploads/<sha256>/<its file name> (so nothing is lost
whatever happens next; once checked or ingested, a participant register sheet in it is emptied,
as everywhere the monitor keeps a workbook, since participant codes are never kept), then
queued as a job file in queue/ (named by arrival time). The request then waits for the writer
lock; whoever holds it ingests every queued job in order of arrival, writes each job's outcome
to queue/<job>.done.json, audits it (whoever finishes it: the request, another request or the
background drain) and removes the job. A request
whose job another one has already ingested just reads its outcome. So seven partners uploading
at the same second queue behind one lock, each gets its own answer, and a job left queued by a
crash or a timeout is ingested by the next writer (another upload, `mvh ingest`, or the
server's periodic `drain`). A job whose ingest fails unexpectedly is answered "failed" with the
error, and its bytes stay kept: one broken file never blocks the queue. Each job counts the
writers that took it up: a job taken up again after a writer died is ingested alone, and one
that two writers took up without finishing (it killed or hung them, whatever the sandbox did)
is poisoned: answered "failed", filed in the quarantine with its sender and audited, so the
jobs behind it go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from pathlib import Path

import duckdb

from pipelines import ingest, stages
from pipelines.access import accounts
from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.intake import sandbox
from pipelines.store import db, quarantine, redact, writer
from pipelines.store.quarantine import Sender

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 2  # writers a job may stop before it is set aside
SAFE_NAME = re.compile(r"[^\w. -]+")  # letters and digits of any script stay


def uploads_dir(db_path: Path | str | None = None) -> Path:
    return db.beside("uploads", db_path)


def queue_dir(db_path: Path | str | None = None) -> Path:
    return db.beside("queue", db_path)


def safe_name(file_name: str) -> str:
    """A file name safe to store: letters and digits of any script and . _ - kept (no folder, no
    control character), at most 120 characters and 200 bytes (file systems allow 255), its
    extension kept whole."""
    name = SAFE_NAME.sub("_", Path(file_name or "upload.xlsx").name).strip(" .") or "upload.xlsx"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = name, ""
    suffix = f".{suffix}" if suffix else ""
    stem = stem[:120 - len(suffix)].encode()[:200 - len(suffix.encode())].decode(errors="ignore")
    return (stem.rstrip(" .") or "upload") + suffix


def keep(data: bytes, file_name: str, db_path: Path | str | None = None) -> Path:
    """Store uploaded bytes as uploads/<sha256>/<file name>, the name made safe."""
    name = safe_name(file_name)
    folder = uploads_dir(db_path) / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / name
    _atomic_write(kept, data)  # as received, even if an earlier copy was scrubbed since
    return kept


def _atomic_write(target: Path, data: bytes) -> None:
    """Write through a temporary file and rename it: `target` is whole or absent, and no
    temporary file stays behind when the disk is full."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def scrub(path: Path | None, register_sheet: str | None) -> None:
    """Once a kept upload (or its marked copy) has been checked or ingested, empty its filled
    participant register sheet: participant codes are never kept (pipelines/store/redact.py)."""
    if path is not None and register_sheet:
        _atomic_write(path, redact.without_sheet(path.read_bytes(), register_sheet))


def enqueue(kept: Path, uploaded_by: str, uploader_country: str | None,
            db_path: Path | str | None = None, file_name: str | None = None,
            address: str | None = None, uploader_organisation: str | None = None) -> str:
    """Queue a kept upload for ingestion; the job id sorts in order of arrival."""
    job = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    folder = queue_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / f"{job}.json", json.dumps({
        "job": job, "path": str(kept), "uploaded_by": uploaded_by,
        "uploader_country": uploader_country, "uploader_organisation": uploader_organisation,
        "file_name": file_name or kept.name,
        "address": address, "attempts": 0,
        "queued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}).encode())
    return job


def pending(db_path: Path | str | None = None) -> list[Path]:
    folder = queue_dir(db_path)
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".done.json")) \
        if folder.exists() else []


def _done(job: str, db_path: Path | str | None) -> Path:
    return queue_dir(db_path) / f"{job}.done.json"


def drain_into(work: Path, registry: Registry, db_path: Path | str | None = None) -> int:
    """Ingest every queued job in order of arrival, validated together; the caller holds the
    writer lock. Returns how many jobs were answered."""
    answered = 0
    while jobs := pending(db_path):
        batch: dict[Path, tuple[Path, dict]] = {}
        for path in jobs:
            job = json.loads(path.read_text())
            if job.get("attempts", 0) >= MAX_ATTEMPTS:
                _answer(path, job, _poisoned(job, db_path), db_path)
                answered += 1
                continue
            if job.get("attempts", 0) and batch:
                break  # a job a writer died on goes alone, after the batch before it
            batch.setdefault(Path(job["path"]), (path, job))  # the same file twice: next round
            if job.get("attempts", 0):
                break
        for path, job in batch.values():
            _atomic_write(path, json.dumps({**job, "attempts": job.get("attempts", 0) + 1}).encode())
        for (path, job), result in zip(batch.values(), _ingest(work, registry, batch), strict=True):
            _answer(path, job, result, db_path)
        answered += len(batch)
    return answered


def _answer(path: Path, job: dict, result: dict, db_path: Path | str | None) -> None:
    """Write a job's outcome, audit it and take the job off the queue."""
    result.update(job=job["job"], path=job["path"], uploaded_by=job["uploaded_by"],
                  file_name=job.get("file_name") or Path(job["path"]).name)
    _atomic_write(_done(job["job"], db_path), json.dumps(result, ensure_ascii=False).encode())
    accounts.record_ingest(job["uploaded_by"] or "cli", result["status"], result.get("country", ""),
                           result.get("quarter", ""), result.get("version"), result["file_name"],
                           job.get("address"))
    path.unlink()


def _sender(job: dict) -> Sender:
    return Sender(job["uploaded_by"], job["uploader_country"], job.get("uploader_organisation"))


def _poisoned(job: dict, db_path: Path | str | None) -> dict:
    """A job that stopped two writers: filed in the quarantine with its sender, answered failed."""
    kept = Path(job["path"])
    reason = F.error("unreadable", reason="it stopped the loading twice")
    log.error("queued upload %s stopped the writer twice: quarantined", kept)
    if kept.exists():
        quarantine.file(kept, kept.parent.name, [reason], db_path, _sender(job))
    return {"status": "failed", "error": "it stopped the loading twice and was set aside",
            "findings": [reason.as_dict()]}


def _ingest(work: Path, registry: Registry, batch: dict[Path, tuple[Path, dict]]) -> list[dict]:
    """The outcome of each job of a batch; if the batch fails, each job alone, so that one broken
    file never stops the others."""
    senders = {kept: _sender(job) for kept, (_, job) in batch.items()}
    try:
        outcomes = ingest.ingest_into(work, senders, registry)
    except Exception as exc:  # noqa: BLE001
        if len(batch) == 1:
            log.exception("ingest of queued upload %s failed", next(iter(batch)))
            reason = "the server's storage is full or read-only" if isinstance(
                exc, OSError | duckdb.IOException) else "the file could not be loaded"
            return [{"status": "failed", "error": reason, "findings": []}]
        return [r for kept in batch for r in _ingest(work, registry, {kept: batch[kept]})]
    for kept, outcome in zip(batch, outcomes, strict=True):
        scrub(kept, outcome.register_sheet)
    return [{"status": o.status, "country": o.country, "quarter": o.quarter,
             "organisation": o.organisation, "version": o.version,
             "language": o.language, "register_sheet": o.register_sheet,
             "findings": [f.as_dict() for f in o.findings]} for o in outcomes]


def drain(registry: Registry, db_path: Path | str | None = None, timeout: float | None = 0) -> int:
    """Ingest what is queued if the writer lock is free within `timeout`; the number ingested."""
    if not pending(db_path):
        return 0
    try:
        with writer.writing(db_path, timeout) as work:
            return drain_into(work, registry, db_path)
    except writer.Busy:
        return 0


def result(job: str, db_path: Path | str | None = None) -> dict | None:
    done = _done(job, db_path)
    return json.loads(done.read_text()) if done.exists() else None


def submit(kept: Path, registry: Registry, uploaded_by: str, uploader_country: str | None,
           db_path: Path | str | None = None, timeout: float = 240, file_name: str | None = None,
           address: str | None = None, uploader_organisation: str | None = None) -> tuple[str, dict | None]:
    """Queue a kept upload and wait until it is ingested: (job id, its outcome), or (job id,
    None) if the writer stayed busy for `timeout` seconds (the job stays queued)."""
    job = enqueue(kept, uploaded_by, uploader_country, db_path, file_name, address, uploader_organisation)
    stages.reached(stages.WAITING)
    try:
        with writer.writing(db_path, timeout) as work:
            if result(job, db_path) is None:
                drain_into(work, registry, db_path)
    except writer.Busy:
        pass
    return job, result(job, db_path)


def start_drainer(registry: Registry, every: float = 30) -> threading.Thread:
    """A server's background thread: every `every` seconds, ingest what waits in the queue (left by
    a crash, or by requests that stopped waiting), and publish what a killed writer committed.
    It first starts a sandbox child, so that the first upload finds one ready."""

    def run() -> None:
        sandbox.warm()
        while True:
            try:
                drain(registry, timeout=0)
                with writer.writing(timeout=0):
                    pass  # publishes the working copy if a killed writer left it unpublished
            except writer.Busy:
                pass
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("draining the upload queue failed")
            time.sleep(every)

    thread = threading.Thread(target=run, name="mvh-drain", daemon=True)
    thread.start()
    return thread

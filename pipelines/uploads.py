"""Uploads from the web: keep the bytes, queue the file, ingest it through the single writer.

An upload is first kept byte for byte as uploads/<sha256>/<its file name> (so nothing is lost
whatever happens next; once checked or ingested, a participant register sheet in it is emptied,
as everywhere the monitor keeps a workbook, since participant codes are never kept), then
queued as a job file in queue/ (named by arrival time). The request then waits for the writer
lock; whoever holds it ingests every queued job in order of arrival, writes each job's outcome
to queue/<job>.done.json and removes the job. A request
whose job another one has already ingested just reads its outcome. So seven partners uploading
at the same second queue behind one lock, each gets its own answer, and a job left queued by a
crash or a timeout is ingested by the next writer (another upload, `mvh ingest`, or the
server's periodic `drain`). A job whose ingest fails unexpectedly is answered "failed" with the
error, and its bytes stay kept: one broken file never blocks the queue.
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

from pipelines import db, ingest, redact, writer
from pipelines.registry import Registry

log = logging.getLogger(__name__)
SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def uploads_dir(db_path: Path | str | None = None) -> Path:
    return db.path(db_path).parent / "uploads"


def queue_dir(db_path: Path | str | None = None) -> Path:
    return db.path(db_path).parent / "queue"


def keep(data: bytes, file_name: str, db_path: Path | str | None = None) -> Path:
    """Store uploaded bytes as uploads/<sha256>/<file name>, the name made safe."""
    name = SAFE_NAME.sub("_", Path(file_name or "upload.xlsx").name).strip(" .")[:120] or "upload.xlsx"
    folder = uploads_dir(db_path) / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / name
    _atomic_write(kept, data)  # as received, even if an earlier copy was scrubbed since
    return kept


def _atomic_write(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def scrub(path: Path | None, register_sheet: str | None) -> None:
    """Once a kept upload (or its marked copy) has been checked or ingested, empty its filled
    participant register sheet: participant codes are never kept (pipelines/redact.py)."""
    if path is not None and register_sheet:
        _atomic_write(path, redact.without_sheet(path.read_bytes(), register_sheet))


def enqueue(kept: Path, uploaded_by: str, uploader_country: str | None,
            db_path: Path | str | None = None) -> str:
    """Queue a kept upload for ingestion; the job id sorts in order of arrival."""
    job = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    folder = queue_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / f"{job}.json", json.dumps({
        "job": job, "path": str(kept), "uploaded_by": uploaded_by,
        "uploader_country": uploader_country,
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
            batch.setdefault(Path(job["path"]), (path, job))  # the same file twice: next round
        for (path, job), result in zip(batch.values(), _ingest(work, registry, batch), strict=True):
            result.update(job=job["job"], path=job["path"], uploaded_by=job["uploaded_by"])
            _atomic_write(_done(job["job"], db_path), json.dumps(result, ensure_ascii=False).encode())
            path.unlink()
        answered += len(batch)
    return answered


def _ingest(work: Path, registry: Registry, batch: dict[Path, tuple[Path, dict]]) -> list[dict]:
    """The outcome of each job of a batch; if the batch fails, each job alone, so that one broken
    file never stops the others."""
    senders = {kept: ingest.Sender(job["uploaded_by"], job["uploader_country"])
               for kept, (_, job) in batch.items()}
    try:
        outcomes = ingest.ingest_into(work, senders, registry)
    except Exception:  # noqa: BLE001
        if len(batch) == 1:
            log.exception("ingest of queued upload %s failed", next(iter(batch)))
            return [{"status": "failed", "error": "the file could not be loaded", "findings": []}]
        return [r for kept in batch for r in _ingest(work, registry, {kept: batch[kept]})]
    for kept, outcome in zip(batch, outcomes, strict=True):
        scrub(kept, outcome.register_sheet)
    return [{"status": o.status, "country": o.country, "quarter": o.quarter, "version": o.version,
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
           db_path: Path | str | None = None, timeout: float = 240) -> tuple[str, dict | None]:
    """Queue a kept upload and wait until it is ingested: (job id, its outcome), or (job id,
    None) if the writer stayed busy for `timeout` seconds (the job stays queued)."""
    job = enqueue(kept, uploaded_by, uploader_country, db_path)
    try:
        with writer.writing(db_path, timeout) as work:
            if result(job, db_path) is None:
                drain_into(work, registry, db_path)
    except writer.Busy:
        pass
    return job, result(job, db_path)


def start_drainer(registry: Registry, every: float = 30) -> threading.Thread:
    """A server's background thread: every `every` seconds, ingest what waits in the queue (left by
    a crash, or by requests that stopped waiting), and publish what a killed writer committed."""

    def run() -> None:
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

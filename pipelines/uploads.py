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
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from pipelines import container, db, ingest, redact, writer
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
    if not kept.exists():
        _atomic_write(kept, data)
    return kept


def _atomic_write(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def scrub(path: Path, registry: Registry) -> None:
    """Once a kept upload (or its marked copy) has been checked or ingested, empty its participant
    register sheet if it has one: participant codes are never kept (pipelines/redact.py)."""
    names = {registry.participant_register.sheet.label(lang) for lang in registry.languages}
    try:
        with zipfile.ZipFile(path) as archive:
            present = names & set(container.sheet_parts(archive))
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
        return  # not a workbook: nothing of a register can be in it
    for name in present:
        _atomic_write(path, redact.without_sheet(path.read_bytes(), name))


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
    """Ingest every queued job in order of arrival; the caller holds the writer lock."""
    jobs = pending(db_path)
    for path in jobs:
        job = json.loads(path.read_text())
        try:
            outcome = ingest.ingest_into(work, [job["path"]], registry, job["uploaded_by"],
                                         job["uploader_country"])[0]
            scrub(Path(job["path"]), registry)
            result = {"status": outcome.status, "country": outcome.country,
                      "quarter": outcome.quarter, "version": outcome.version,
                      "language": outcome.language, "findings": [f.as_dict() for f in outcome.findings]}
        except Exception as exc:  # noqa: BLE001 - one broken job must not stop the queue
            log.exception("ingest of queued upload %s failed", job["job"])
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "findings": []}
        result.update(job=job["job"], path=job["path"], uploaded_by=job["uploaded_by"])
        _atomic_write(_done(job["job"], db_path), json.dumps(result, ensure_ascii=False).encode())
        path.unlink()
    return len(jobs)


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

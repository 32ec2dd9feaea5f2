"""The single writer: who may change the database, and how readers see the change.

DuckDB lets one process open a file for writing, and while it has it open no other process can
open the file at all, not even to read ("Could not set lock"). So readers and the writer never
share a file:

- `mvh.duckdb` (db.path()) is the published database. Every reader (the dashboard's workers,
  `mvh kpis`, exports) opens it read-only, briefly; nobody ever opens it for writing. It is
  replaced whole by an atomic rename: a reader that has it open keeps the old data, the next
  one sees the new.
- `mvh.writer.duckdb` beside it is the working copy, opened only by the holder of the writer
  lock (an flock on `mvh.writer.lock`, held by one process or thread at a time; others wait).
  The ingest writes each file in its own transaction there.
- When the holder is done it checkpoints the working copy, copies it to a temporary file,
  fsyncs it and renames it over the published one (then fsyncs the folder).

A process killed at any moment leaves the working copy with each file fully in or fully out
(DuckDB's write-ahead log), and the published copy either old or new, never half written. The
next holder of the lock publishes whatever the killed one had committed but not published.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.store import db


class Busy(TimeoutError):
    """Another process held the writer lock for longer than we could wait."""


def work_path(db_path: Path | str | None = None) -> Path:
    published = db.path(db_path)
    return published.with_name(published.stem + ".writer" + published.suffix)


def _lock_path(db_path: Path | str | None) -> Path:
    return work_path(db_path).with_suffix(".lock")


def _marker(db_path: Path | str | None) -> Path:
    """What the working copy looked like when it was last published."""
    return work_path(db_path).with_suffix(".published")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _state(path: Path) -> str:
    parts = []
    for p in (path, _wal(path)):
        try:
            stat = p.stat()
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
        except FileNotFoundError:
            parts.append("-")
    return " ".join(parts)


@contextmanager
def _locked(db_path: Path | str | None, timeout: float | None) -> Iterator[None]:
    lock = _lock_path(db_path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    with open(lock, "a") as handle:  # flock is per open file: threads of one process wait too
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise Busy(f"The database is busy with another ingest ({lock}).") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file, so that the file alone holds everything. A storage
    fault (a full disk) is raised as OSError, as the file copies raise it."""
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
    except duckdb.IOException as exc:
        raise OSError(f"{path}: {exc}") from exc


def _copy(source: Path, target: Path) -> None:
    """Copy through a temporary file, fsync, rename: `target` is old or new, never partial, and
    a copy that fails (a full disk) leaves no temporary file behind."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _prepare(db_path: Path | str | None) -> Path:
    """The working copy, made from the published database the first time."""
    published, work = db.path(db_path), work_path(db_path)
    for stale in published.parent.glob(f".{published.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a copy that was killed
    if not work.exists() and published.exists():
        if _wal(published).exists():  # written in place by an earlier version of this program
            _checkpoint(published)
        _copy(published, work)
        _marker(db_path).write_text(_state(work))
    return work


def publish(db_path: Path | str | None = None) -> bool:
    """Publish the working copy if it changed since it was last published (lock held)."""
    work, marker = work_path(db_path), _marker(db_path)
    if not work.exists():
        return False
    if _wal(work).exists():
        _checkpoint(work)
    state = _state(work)
    published = db.path(db_path)
    if published.exists() and marker.exists() and marker.read_text() == state:
        return False
    _copy(work, published)
    marker.write_text(state)
    return True


@contextmanager
def writing(db_path: Path | str | None = None, timeout: float | None = None) -> Iterator[Path]:
    """Hold the writer lock; yield the working copy to write to; publish it afterwards.

    Raises Busy if the lock is not free within `timeout` seconds (None: wait as long as it takes).
    """
    with _locked(db_path, timeout):
        work = _prepare(db_path)
        try:
            yield work
        finally:
            publish(db_path)

"""Untrusted files are read and checked in a child process with memory and time limits.

A workbook is made by whoever sends it. Reading one can abort the reading process outright
(python-calamine aborts, no `try` catches it, when asked to allocate a sheet's grid out to a
stray far cell), exhaust its memory or run for minutes. So every step that parses an uploaded
file (reading, validating, writing the marked copy) runs through `run`, in a child process:
- forked from a fork server (multiprocessing's "forkserver": a fresh interpreter started once
  per process, holding no DuckDB connection or other state of the parent) that has imported
  great-expectations and, in a server, run it once (pipelines/intake/sandbox_warm.py), so a child is
  ready at once, even the one that replaces a child that died; children are kept and reused;
- limited to MVH_SANDBOX_MB megabytes of address space above what it holds when it starts
  (default 1024) and, per call, to a time that grows with the file's size (MVH_SANDBOX_SECONDS,
  default 20, plus one second per MB);
- a child that dies (an abort, a limit) or overruns its time is killed and replaced; the caller
  gets `Refused` with the reason, which becomes the partner's finding "unreadable".
Each process keeps up to MVH_SANDBOXES children (default 2): threads of a server worker take
turns. The functions run must be module-level (they are sent by name) and their arguments and
results picklable. `peak_mb` tells the child's peak memory during the last call (benchmarks).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["pipelines.intake.sandbox_warm"])


class Refused(Exception):
    """The child died or overran its time; args[0] says which, in plain words."""


def memory_mb() -> int:
    return int(os.environ.get("MVH_SANDBOX_MB", "1024"))


def seconds_for(size: int) -> float:
    """The time allowed to read and check a file of `size` bytes."""
    return float(os.environ.get("MVH_SANDBOX_SECONDS", "20")) + size / (1024 * 1024)


@dataclass
class Answer:
    value: object = None
    error: BaseException | None = None
    peak_mb: float = 0.0


class Child:
    """One child process and its end of the pipe."""

    def __init__(self):
        self.conn, theirs = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(theirs,), name="mvh-sandbox", daemon=True)
        self.process.start()
        theirs.close()
        self.peak_mb = 0.0

    def alive(self) -> bool:
        return self.process.is_alive()

    def call(self, function: Callable, args: tuple, timeout: float):
        try:
            self.conn.send_bytes(pickle.dumps((function.__module__, function.__qualname__, args)))
            if not self.conn.poll(timeout):
                self.kill()
                raise Refused("it took too long")
            payload = self.conn.recv_bytes()
        except (OSError, EOFError) as exc:
            self.kill()
            raise Refused(self._death()) from exc
        answer: Answer = pickle.loads(payload)
        self.peak_mb = answer.peak_mb
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _death(self) -> str:
        code = self.process.exitcode  # an abort or a kill: what a failed allocation ends in
        return "it needed too much memory" if code in (-6, -9) else f"the reader stopped ({code})"

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class Pool:
    """Up to `size` warm children for the threads of one process."""

    def __init__(self, size: int):
        self.size, self.idle, self.started = size, [], 0
        self.lock = threading.Condition()

    def take(self) -> Child:
        with self.lock:
            while not self.idle and self.started >= self.size:
                self.lock.wait()
            if self.idle:
                return self.idle.pop()
            self.started += 1
        try:
            return Child()
        except Exception:
            self.give_back(None)
            raise

    def give_back(self, child: Child | None) -> None:
        """Return a child after a call; one that died is replaced at once, so that the next
        call finds its successor already starting."""
        with self.lock:
            if child is not None and child.alive():
                self.idle.append(child)
            elif child is not None:
                try:
                    self.idle.append(Child())
                except OSError:
                    self.started -= 1
            else:
                self.started -= 1
            self.lock.notify()

    def close(self) -> None:
        with self.lock:
            for child in self.idle:
                child.kill()
            self.started -= len(self.idle)
            self.idle = []


_POOL = Pool(int(os.environ.get("MVH_SANDBOXES", "2")))
_LAST = threading.local()


def run(function: Callable, *args, timeout: float = 60):
    """`function(*args)` in a sandboxed child; its exceptions are raised here, and Refused when
    the child died or overran `timeout` seconds."""
    child = _POOL.take()
    try:
        return child.call(function, args, timeout)
    finally:
        _LAST.peak_mb = child.peak_mb
        _POOL.give_back(child)


def peak_mb() -> float:
    """The peak resident memory of the child during this thread's last call, in MB."""
    return getattr(_LAST, "peak_mb", 0.0)


def warm() -> None:
    """Start the fork server, warmed on a blank template, and a child now (a server does this when
    it starts, so that no upload waits for great-expectations to be imported or warmed)."""
    os.environ["MVH_SANDBOX_WARM"] = "1"  # read by the fork server when it starts
    _POOL.give_back(_POOL.take())


def close() -> None:
    _POOL.close()


# ---- the child -----------------------------------------------------------------------------------


def _serve(conn) -> None:
    """A child's loop: run each request, send back its answer, until the parent goes away."""
    _limit_memory()
    while True:
        try:
            module, name, args = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        _reset_peak()
        answer = Answer()
        try:
            answer.value = getattr(importlib.import_module(module), name)(*args)
        except MemoryError:
            answer.error = Refused("it needed too much memory")
        except Exception as exc:  # noqa: BLE001 - sent back to the caller, who decides
            answer.error = exc
        answer.peak_mb = _peak_mb()
        try:
            payload = pickle.dumps(answer)
        except Exception as exc:  # noqa: BLE001 - an exception that cannot be pickled
            payload = pickle.dumps(Answer(error=RuntimeError(repr(exc)), peak_mb=answer.peak_mb))
        conn.send_bytes(payload)


def _limit_memory() -> None:
    """Cap the address space at what the child holds when it starts plus MVH_SANDBOX_MB."""
    cap = (_status_kb("VmSize") // 1024 + memory_mb()) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)
    except OSError:
        pass


def _peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def _status_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(f"{field}:")))

"""The server's mailer: a daemon thread sending what is due (outbox.send_due) a minute after the
server starts, then once a day, and at once when woken by soon() (a page calls it after a load or
a decision). Each worker process has its own; outbox.py makes sure a message goes out once. A
failure is logged and never stops the server: the next run tries again.
"""

from __future__ import annotations

import logging
import threading
import time

from pipelines.declaration.registry import Registry
from pipelines.notify import outbox, smtp

FIRST = 60  # seconds after the start
EVERY = 24 * 3600
log = logging.getLogger(__name__)
_woken = threading.Event()
_stopping = threading.Event()


def soon() -> None:
    """Have this process's mailer send what is due now: a version was loaded or a decision taken."""
    _woken.set()


def start(registry: Registry, first: float = FIRST, every: float = EVERY) -> threading.Thread:
    """Start the mailer thread of this process."""
    log.info(smtp.configured()[1])

    def run() -> None:
        daily = time.monotonic() + first
        while not _stopping.is_set():
            if not _woken.wait(max(0.0, daily - time.monotonic())):
                daily += every
            _woken.clear()
            if not _stopping.is_set():
                _send(registry)

    thread = threading.Thread(target=run, name="mvh-mail", daemon=True)
    thread.start()
    return thread


def stop(thread: threading.Thread, timeout: float = 60) -> None:
    """Stop a mailer thread once its current run is over (for a clean shutdown, and tests)."""
    _stopping.set()
    _woken.set()
    thread.join(timeout)
    _stopping.clear()
    _woken.clear()


def _send(registry: Registry) -> None:
    if not smtp.configured()[0]:
        return
    try:
        run = outbox.send_due(registry)
    except Exception:  # noqa: BLE001 - the thread must outlive any one failure
        log.exception("e-mailing what is due failed")
        return
    if run.problem:
        log.error("%s %d message(s) wait for the next run.", run.problem, len(run.mails) - len(run.sent))

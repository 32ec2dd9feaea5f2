"""Where a long piece of work has got to, for whoever watches it: the Upload page shows a
partner "reading the sheets", then "checking every cell", then "loading" while their workbook is
worked on (a 30,000-row register takes about 20 s).

The work calls `reached(STAGE)` as it goes; a caller that wants to know wraps it in
`with watched(report):`, and `report(stage)` is called in its thread. Nobody watching costs
nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

WAITING = "waiting"  # for the uploads before it (one writer at a time)
READING = "reading"
CHECKING = "checking"
LOADING = "loading"
MARKING = "marking"  # writing the copy of the workbook with its findings marked

_watcher: ContextVar[Callable[[str], None] | None] = ContextVar("stage_watcher", default=None)


@contextlib.contextmanager
def watched(report: Callable[[str], None]) -> Iterator[None]:
    """Call `report(stage)` at each stage the work in this block reaches."""
    token = _watcher.set(report)
    try:
        yield
    finally:
        _watcher.reset(token)


def reached(stage: str) -> None:
    report = _watcher.get()
    if report is not None:
        report(stage)

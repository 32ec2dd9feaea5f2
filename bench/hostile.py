"""`make bench`: each hostile file of the corpus (tests/corpus/build.py) uploaded to the
production server (gunicorn, one worker), in "only check" mode: the answer's time and the peak
memory of the sandboxed process that read it (targets: under 5 s and 500 MB); then the price of
the sandbox on a good workbook: the upload page's check of a typical workbook over HTTP (target
p95 under 1 s), against the same check (read, validate, mark) run in this process without a
sandbox or HTTP.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.upload_load import Browser, children, gunicorn
from pipelines import check, demo_data
from pipelines.declaration.registry import Registry
from pipelines.intake import annotate, read, sandbox

FAR = 5.0, 500.0  # seconds, MB


def sandbox_peaks(master) -> dict[int, float]:
    """pid -> peak resident MB (VmHWM: each child resets it when a call starts) of the server's
    sandbox children: the children of each worker's fork server."""
    peaks = {}
    for worker in children(master.pid):
        for server in children(worker):
            if b"forkserver" not in _cmdline(server):
                continue
            for child in children(server):
                try:
                    status = Path(f"/proc/{child}/status").read_text()
                    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
                    peaks[child] = int(line.split()[1]) / 1024
                except (OSError, StopIteration):
                    continue
    return peaks


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def hostile_uploads(registry: Registry, tmp: Path) -> list[tuple]:
    from bench.run import p95
    from tests.corpus.build import build
    from tests.dash_client import PASSWORD, add_accounts

    raw = tmp / "raw"
    demo = sorted(raw.glob("*.xlsx")) or demo_data.generate(registry, raw, seed=0)
    typical = sorted(demo)[len(demo) // 2]
    cases = [c for c in build(tmp / "hostile-corpus", registry, raw, kinds={"hostile"}) if c.made]
    db = tmp / "hostile" / "mvh.duckdb"
    add_accounts(db)
    rows = []
    with gunicorn(db, workers=1) as (url, master):
        browser = Browser(url)
        browser.login("manager", PASSWORD)
        for _ in range(3):
            browser.upload(typical, "check")  # the sandbox warm
        for case in cases:
            path = tmp / "hostile-corpus" / case.file
            before = sandbox_peaks(master)
            began = time.perf_counter()
            status, _text = browser.upload(path, "check")
            seconds = time.perf_counter() - began
            after = sandbox_peaks(master)
            peak = max((mb for pid, mb in after.items() if pid in before), default=None)
            died = set(before) - set(after)
            memory = "its reader stopped at the memory limit" if died else \
                f"peak {peak:.0f} MB" if peak else "peak not seen"
            over = seconds >= FAR[0] or (peak or 0) >= FAR[1] or status != 200
            rows.append((f"hostile upload: {case.id}", 1, seconds, None,
                         f"{memory}; {path.stat().st_size / 1e6:.2f} MB file; "
                         f"{', '.join(r for r, *_ in case.expected) or 'accepted'}"
                         + ("  OVER TARGET" if over else "")))
            if died:
                browser.upload(typical, "check")  # let its successor start before the next file
        web = []
        for _ in range(20):
            began = time.perf_counter()
            browser.upload(typical, "check")
            web.append(time.perf_counter() - began)
    here = []
    for _ in range(20):
        began = time.perf_counter()
        checked = check.examine(read.read(typical, registry), registry, check.past(registry, db), None, None)
        annotate.write(typical, tmp / "checked.xlsx", checked.findings, checked.lang, registry)
        here.append(time.perf_counter() - began)
    sandbox.close()
    what = "the same check in process, no sandbox, no HTTP"
    return rows + [
        ("check a typical workbook on the upload page, median", 20, statistics.median(web),
         statistics.median(here), what),
        ("check a typical workbook on the upload page, p95 (target < 1 s)", 20, p95(web), p95(here), what),
    ]

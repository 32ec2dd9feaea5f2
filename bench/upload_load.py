"""The upload load test: seven partners uploading at the same moment, round after round, to the
production server (gunicorn, `make serve-prod`) on 127.0.0.1, each through the login form and the
upload page's callback as a browser would. Used by tests/test_upload_load.py (every upload
accepted exactly once, no error, the same KPIs as ingesting the files one by one) and by
`make bench` (throughput, median and 95th-percentile latency).
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from pipelines.declaration.registry import Registry
from pipelines.intake import read
from tests.dash_client import free_port, running

ROOT = Path(__file__).resolve().parent.parent
# "Loaded as IT 2022-Q3 [its organisation, where the country reports per organisation] version 2"
VERDICT = re.compile(r"Loaded as ([A-Z]{2}) (\d{4}-Q\d)( [^.\"]+?)? version (\d+)")


@dataclass
class Upload:
    country: str
    round: int
    file: Path
    seconds: float = 0.0
    status: int = 0
    verdict: str = ""


def workbooks(registry: Registry, demo_dir: Path, out: Path, rounds: int = 10) -> dict[str, list[Path]]:
    """Per country, `rounds` different workbooks of its own (of its first organisation, where it
    reports per organisation): its demo quarters in order, then corrections of its last quarter
    (the cover's "reported by" changed), which become versions."""
    plan = {}
    for country in (c.code for c in registry.countries):
        own = sorted(demo_dir.glob(f"{country}_????-Q?.xlsx"))
        files = own[:rounds]
        for extra in range(rounds - len(files)):
            book = read.read(own[-1], registry)
            cover = book.sheets["cover"]
            wb = load_workbook(own[-1])
            wb[cover.name][cover.cells["reported_by"]] = f"Correction {extra + 1}"
            target = out / f"{own[-1].stem}_correction{extra + 1}.xlsx"
            out.mkdir(parents=True, exist_ok=True)
            wb.save(target)
            files.append(target)
        plan[country] = files
    return plan


@contextlib.contextmanager
def production_server(db: Path, workers: int = 3):
    """gunicorn with the project's settings on a free port, its own database; yields the URL."""
    with gunicorn(db, workers) as (url, _master):
        yield url


@contextlib.contextmanager
def gunicorn(db: Path, workers: int = 3):
    """The production server; yields its URL and its master process."""
    port = free_port()
    env = {**os.environ, "MVH_DB": str(db), "MVH_BIND": f"127.0.0.1:{port}",
           "MVH_WORKERS": str(workers), "MVH_INSECURE_COOKIES": "1"}  # plain http on 127.0.0.1
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "gunicorn", "-c", "dashboard/gunicorn.conf.py",
                  "dashboard.wsgi:server"], env, f"{url}/healthz", ROOT) as master:
        yield url, master


def worker_pids(master) -> set[int]:
    """The worker processes of a gunicorn master (a worker that died is replaced by a new pid)."""
    return set(children(master.pid))


def children(pid: int) -> list[int]:
    """The child processes of `pid`, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Browser:
    """What a browser does for one partner: the login form, cookies, the CSRF header."""

    def __init__(self, url: str):
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self, username: str, password: str) -> None:
        form = self.opener.open(f"{self.url}/login", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrf_token": token}).encode()
        self.opener.open(f"{self.url}/login", data=data, timeout=60).read()
        self.opener.open(f"{self.url}/_dash-layout", timeout=60).read()  # sets the CSRF cookie

    def upload(self, path: Path, mode: str = "submit", lang: str = "") -> tuple[int, str]:
        """The upload page's callback, in "check and submit" (or "check") mode: (HTTP status, the
        verdict "Loaded as ..." or else the whole answer); messages in `lang`, else the workbook's."""
        contents = "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
        body = {"output": "upload-result.children",
                "outputs": {"id": "upload-result", "property": "children"},
                "inputs": [{"id": "upload-payload", "property": "data",
                            "value": {"contents": contents, "filename": path.name}}],
                "state": [{"id": "upload-mode", "property": "value", "value": mode},
                          {"id": "upload-lang", "property": "value", "value": lang}],
                "changedPropIds": ["upload-payload.data"]}
        token = next(c.value for c in self.jar if c.name == "_csrf_token")
        request = urllib.request.Request(f"{self.url}/_dash-update-component", json.dumps(body).encode(),
                                         {"Content-Type": "application/json", "X-CSRFToken": token})
        try:
            with self.opener.open(request, timeout=600) as response:
                text = response.read().decode()
                found = VERDICT.search(text)
                return response.status, found.group(0) if found else text
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()[:300]


def run(url: str, plan: dict[str, list[Path]], password: str) -> list[Upload]:
    """Every partner logs in; then, round after round, all upload at the same moment and wait."""
    partners = {country: Browser(url) for country in plan}
    for country, browser in partners.items():
        browser.login(f"partner-{country.lower()}", password)
    done: list[Upload] = []
    rounds = max(len(files) for files in plan.values())
    for number in range(rounds):
        start = threading.Barrier(len(plan))
        batch = [Upload(c, number, files[number]) for c, files in plan.items() if number < len(files)]

        def go(upload: Upload, start: threading.Barrier = start) -> None:
            start.wait()
            began = time.perf_counter()
            upload.status, upload.verdict = partners[upload.country].upload(upload.file)
            upload.seconds = time.perf_counter() - began

        threads = [threading.Thread(target=go, args=(u,)) for u in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done += batch
    return done


def measure(registry: Registry, tmp: Path) -> list[tuple]:
    """`make bench`: 7 partners x 10 rounds against gunicorn (3 workers), against the same 70
    files ingested one by one in this process (no server, no queue)."""
    import statistics

    from bench.run import p95
    from pipelines import ingest
    from pipelines.access import accounts
    from tests.dash_client import PASSWORD, using

    plan = workbooks(registry, tmp / "raw", tmp / "load-corrections")
    db = tmp / "load" / "mvh.duckdb"
    with using(db):
        codes = tuple(c.code for c in registry.countries)
        for code in codes:
            accounts.add(f"partner-{code.lower()}", "partner", PASSWORD, code, codes)
    with production_server(db) as url:
        began = time.perf_counter()
        done = run(url, plan, PASSWORD)
        wall = time.perf_counter() - began
    failed = sum(u.status != 200 or not u.verdict.startswith("Loaded as") for u in done)
    alone = []
    for number in range(max(map(len, plan.values()))):
        for files in plan.values():
            start = time.perf_counter()
            ingest.ingest([files[number]], registry, tmp / "load-alone" / "mvh.duckdb")
            alone.append(time.perf_counter() - start)
    latencies = [u.seconds for u in done]
    what = "one file ingested alone, in process"
    return [
        (f"upload load: {len(done) / wall:.2f} uploads/s ({failed} failed), s per upload",
         len(done), wall / len(done), sum(alone) / len(alone), "the files ingested one by one"),
        ("upload load: latency median, 7 at once", len(done), statistics.median(latencies),
         statistics.median(alone), what),
        ("upload load: latency p95, 7 at once", len(done), p95(latencies), p95(alone), what),
    ]

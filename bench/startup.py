"""`make bench`: the start-up of the `mvh` command, each a fresh process, against `python -c pass`.

Wall time, median of RUNS runs after one unmeasured run (the files in the page cache, the
bytecode compiled), of: the bare interpreter (the baseline), `mvh --help` (target under 0.25 s),
`mvh kpis --json` on the demo database and `mvh check` of an empty file, which must be refused
with its message (target under 0.5 s). The targets are those of an idle machine; the load
average at the start is told with the baseline. The command run is the installed `mvh` script
beside this interpreter (`python -m pipelines.cli` if there is none). tests/test_startup.py checks
what makes these fast: neither --help nor the refusal imports pandas, DuckDB or
great-expectations.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipelines import demo_data

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
HELP_TARGET, CHECK_TARGET = 0.25, 0.5  # seconds, on an idle machine

Row = tuple[str, int, float, float | None, str]


def command() -> list[str]:
    script = Path(sys.executable).with_name("mvh")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]


def wall(argv: list[str], expect: int = 0, says: str = "", runs: int = RUNS) -> float:
    """The median wall time of `argv` run `runs` times, each in a fresh process; it must exit with
    `expect` and print `says`."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != expect or says not in done.stdout:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        if i:  # the first run is not counted
            times.append(seconds)
    return statistics.median(times)


def demo_database(reg, tmp: Path) -> Path:
    """The demo database that ingest_path (bench/run.py) builds; built here when run alone."""
    database = tmp / "mvh.duckdb"
    if not database.exists():
        raw = tmp / "raw"
        if not raw.exists():
            demo_data.generate(reg, raw, seed=0)
        subprocess.run([*command(), "ingest", str(raw), "--db", str(database)], cwd=ROOT,
                       check=False, capture_output=True)  # `mvh kpis` fails loudly without it
    return database


def _verdict(seconds: float, target: float) -> str:
    return f"target < {target} s: {'pass' if seconds < target else 'FAIL'}"


def startup(reg, tmp: Path) -> list[Row]:
    mvh = command()
    database = demo_database(reg, tmp)
    empty = tmp / "EMPTY.xlsx"
    empty.write_bytes(b"")
    load = os.getloadavg()[0]
    base = wall([sys.executable, "-c", "pass"])
    helped = wall([*mvh, "--help"], says="Usage:")
    kpis = wall([*mvh, "kpis", "--json", "--db", str(database)], says='"kpis"')
    refused = wall([*mvh, "check", str(empty)], expect=1, says="The file is empty.")
    baseline = "python -c pass"

    def times(seconds: float) -> str:
        return f"{seconds / base:.0f}x {baseline}"

    return [
        (f"start-up: {baseline}, median", RUNS, base, None, f"the baseline; load average {load:.2f}"),
        ("start-up: mvh --help, median", RUNS, helped, base,
         f"{times(helped)}; {_verdict(helped, HELP_TARGET)}"),
        ("start-up: mvh kpis --json, median", RUNS, kpis, base, times(kpis)),
        ("start-up: mvh check EMPTY.xlsx, median", RUNS, refused, base,
         f"{times(refused)}; {_verdict(refused, CHECK_TARGET)}"),
    ]

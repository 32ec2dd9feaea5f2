"""`make bench`: figures for the ingest path, each against a baseline measured in the same run.

- reading every demo workbook: our reader (python-calamine, all sheets, cell addresses kept)
  vs pandas.read_excel(engine="openpyxl", sheet_name=None);
- validating them all in one batch vs one great-expectations run per workbook;
- ingesting the whole demo data set into a new database (read, validate, load), end to end,
  in a fresh process (so the one-off import of great-expectations is counted);
- the KPI query of one quarter on that database: median and 95th percentile.
Prints a table and writes bench/results/bench.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import demo_data, kpis, read, registry, validate  # noqa: E402


def timed(fn, repeat: int = 1) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    reg = registry.get()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        files = demo_data.generate(reg, raw, seed=0)
        ours = timed(lambda: [read.read(f, reg) for f in files], repeat=3)
        base = timed(lambda: [pd.read_excel(f, sheet_name=None, engine="openpyxl") for f in files],
                     repeat=3)
        rows.append(("read all demo workbooks", len(files), min(ours), min(base),
                     "pandas.read_excel(openpyxl)"))
        books = [read.read(f, reg) for f in files]
        validate.validate(books[:1], reg)  # import great-expectations outside the timings
        batched = timed(lambda: validate.validate(books, reg))
        one_by_one = timed(lambda: [validate.validate([b], reg) for b in books])
        rows.append(("validate all, one batch", len(files), batched[0], one_by_one[0],
                     "one great-expectations run per workbook"))
        db = Path(tmp) / "mvh.duckdb"
        ingest = timed(lambda: subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "ingest", str(raw), "--db", str(db)],
            cwd=ROOT, check=True, capture_output=True))
        rows.append(("ingest demo data (fresh process)", len(files), ingest[0], None, ""))
        with duckdb.connect(str(db), read_only=True) as con:
            query = timed(lambda: kpis.compute(con, reg, "2023-Q4"), repeat=50)
        rows.append(("KPIs as of a quarter, median", 1, statistics.median(query), None, ""))
        rows.append(("KPIs as of a quarter, 95th percentile", 1, p95(query), None, ""))
    print(f"{'benchmark':<40} {'n':>4} {'ours s':>9} {'base s':>9} {'ratio':>7}  baseline")
    for name, n, value, baseline, what in rows:
        ratio = f"{baseline / value:6.1f}x" if baseline else ""
        base_text = f"{baseline:9.3f}" if baseline else " " * 9
        print(f"{name:<40} {n:>4} {value:9.3f} {base_text} {ratio:>7}  {what}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(
        [dict(zip(["name", "n", "seconds", "baseline_seconds", "baseline"], r, strict=True))
         for r in rows], indent=2))
    print(f"written {out / 'bench.json'}")


if __name__ == "__main__":
    main()

"""`make bench`, at the scale of the project's largest target: registers of a million rows.

- reading a 100,000-row workbook: our reader (python-calamine, cells kept) against
  pandas.read_excel(engine="openpyxl"), reading only (target: at least 5x faster);
- ingesting a 1,000,000-row CSV register, and an .xlsx register of 1,048,575 rows, into a copy
  of the demo database, each in a fresh process (`mvh ingest`): time and peak memory (VmHWM of
  the process; targets under 60 s and 2 GB); baselines in the same run: DuckDB only counting the
  CSV's rows, and pandas.read_csv of it;
- the KPI queries on that database (every KPI, overall and per country, as of the last quarter),
  and the unique-participant breakdowns of the People page: median and 95th percentile
  (target p95 under 100 ms);
- every dashboard callback on that database through Flask's test client (bench/dashboard.py):
  median and 95th percentile (target p95 under 300 ms at this size);
- each hostile register of tests/corpus/registers.py (a few kilobytes of Parquet holding 600 MB
  of text, 30 million rows, a 3 MB line, ...) read in a process of its own: time and peak memory
  (targets under 5 s and 500 MB), and the finding it gives.
The generators are bench/large_workbook.py and bench/large_register.py; nothing is committed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dashboard, large_register, large_workbook  # noqa: E402
from pipelines.intake import read  # noqa: E402
from pipelines.marts import kpis, people  # noqa: E402

Row = tuple[str, int, float, float | None, str]
ROWS = 1_000_000
KEY = "bench-participant-key-not-a-secret"
CHILD = """
import json, re, sys, time
from pipelines import ingest
from pipelines.declaration import registry
start = time.perf_counter()
outcomes = ingest.ingest([sys.argv[1]], registry.get(), sys.argv[2])
seconds = time.perf_counter() - start
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": seconds, "peak_kb": peak_kb, "status": [o.status for o in outcomes],
                  "errors": [f.message for o in outcomes for f in o.findings if f.severity == "error"][:3]}))
"""


def reader_speed(reg, tmp: Path) -> list[Row]:
    """Reading alone: a 100,000-row workbook, ours against pandas with openpyxl."""
    from bench.run import timed

    big = large_workbook.write(tmp / "big_read.xlsx", reg, 100_000)
    ours = timed(lambda: read.read(big, reg), repeat=3)
    base = timed(lambda: pd.read_excel(big, sheet_name=None, engine="openpyxl"))
    ratio = base[0] / min(ours)
    return [("read 100,000 activity rows (read only)", 100_000, min(ours), base[0],
             f"pandas.read_excel(openpyxl); target >= 5x{'' if ratio >= 5 else '  UNDER TARGET'}")]


def _ingest(path: Path, database: Path) -> dict:
    env = {**os.environ, "MVH_PARTICIPANT_KEY": KEY}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(database)], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True, timeout=900)
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["status"] == ["accepted"], got
    return got


def _scale_row(name: str, rows: int, got: dict, baseline: float | None, what: str) -> Row:
    peak = got["peak_kb"] / 1024
    over = "" if got["seconds"] < 60 and peak < 2048 else "  OVER TARGET"
    return (name, rows, got["seconds"], baseline, f"peak {peak:.0f} MB; {what}; targets < 60 s, "
            f"< 2 GB{over}")


def register_ingest(reg, tmp: Path) -> list[Row]:
    """A million-row CSV register and a full-sheet .xlsx register into a copy of the demo database."""
    from bench.run import timed

    big = tmp / "big"
    big.mkdir(exist_ok=True)
    database = big / "mvh.duckdb"
    shutil.copyfile(tmp / "mvh.duckdb", database)
    with duckdb.connect(str(database), read_only=True) as con:
        ids = {q: [r[0] for r in con.execute(
            "SELECT a.activity_id FROM activities a JOIN current_submissions s USING (submission_id) "
            "WHERE s.country = 'BG' AND s.quarter = ? ORDER BY 1", [q]).fetchall()]
            for q in ("2022-Q3", "2022-Q4")}
    csv_path = large_register.write_csv(big / "BG_2022-Q3_register.csv", ROWS, ids["2022-Q3"])
    counted = timed(lambda: duckdb.sql(f"SELECT count(*) FROM read_csv('{csv_path}')").fetchall())
    pandas_read = timed(lambda: pd.read_csv(csv_path))
    got = _ingest(csv_path, database)
    rows = [_scale_row("ingest 1,000,000-row CSV register", ROWS, got, pandas_read[0],
                       f"baseline pandas.read_csv alone; DuckDB only counting its rows {counted[0]:.2f} s")]
    xlsx_rows = 1_048_575
    xlsx = large_register.write_xlsx(big / "BG_2022-Q4_register.xlsx", reg, xlsx_rows, ids["2022-Q4"])
    got = _ingest(xlsx, database)
    rows.append(_scale_row("ingest 1,048,575-row .xlsx register", xlsx_rows, got, None,
                           f"{xlsx.stat().st_size / 1e6:.0f} MB file"))
    return rows


def queries_at_scale(reg, tmp: Path) -> list[Row]:
    """KPI queries and the People page's breakdowns on the database holding the big registers."""
    from bench.run import p95, timed

    with duckdb.connect(str(tmp / "big" / "mvh.duckdb"), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM participations").fetchone()[0]
        as_of = kpis.latest_quarter(con, reg)
        measured = {
            "KPIs as of a quarter (all, per country)": timed(lambda: kpis.compute(con, reg, as_of), 50),
            "unique participants by quarter": timed(lambda: people.by_quarter(con, reg, as_of), 20),
            "unique participants by sex x age": timed(lambda: people.by_sex_age(con, reg, as_of), 20),
            "participations, unique per country": timed(lambda: people.by_country(con, reg, as_of), 20),
        }
    rows = []
    for name, times in measured.items():
        target = " target p95 < 100 ms" if name.startswith("KPIs") else ""
        over = "  OVER TARGET" if target and p95(times) >= 0.1 else ""
        rows.append((f"{name}, p95", n, p95(times), None, f"median {statistics.median(times) * 1000:.0f}"
                     f" ms at {n:,} participations;{target}{over}"))
    return rows


def dashboard_at_scale(reg, tmp: Path) -> list[Row]:
    """Every dashboard callback on the database holding the big registers."""
    os.environ["MVH_PARTICIPANT_KEY"] = KEY
    rows = dashboard.callbacks(reg, tmp, database=tmp / "big" / "mvh.duckdb", target=0.300)
    return [(f"{name} (1M+ rows)", n, value, base, what) for name, n, value, base, what in rows]


def hostile_registers(reg, tmp: Path) -> list[Row]:
    """Each hostile register read (and refused) in a process of its own."""
    from tests.corpus import registers

    folder = tmp / "hostile_registers"
    subprocess.run([sys.executable, "tests/corpus/registers.py", str(folder)], cwd=ROOT, check=True,
                   timeout=300)
    rows = []
    for case, got in zip(registers.CASES, registers.read_each(folder).values(), strict=True):
        read = got["hostile"]
        over = "" if read["seconds"] < 5 and read["peak_mb"] < 500 else "  OVER TARGET"
        found = read["errors"][0][0] if read["errors"] else f"read, {read['rows']} rows"
        size = (folder / case.file).stat().st_size
        rows.append((f"hostile register {case.id}", 1, read["seconds"], None, f"{size:,} bytes; peak "
                     f"{read['peak_mb']:.0f} MB; {found}; targets < 5 s, < 500 MB{over}"))
    return rows


SECTIONS = [hostile_registers, reader_speed, register_ingest, queries_at_scale, dashboard_at_scale]

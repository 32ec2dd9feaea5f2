"""Hostile register files (tests/corpus/registers.py) are read or refused in bounded time and
memory, with a finding in plain words; a good register read right after each is read whole.

Each file is read by `register.read_file` in a process of its own (`read_each`), then the good
register in the same process: the hostile one under 5 s and under 500 MB of peak memory.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.intake import register, register_scan
from tests.corpus.registers import CASES, GOOD, read_each

ROOT = Path(__file__).resolve().parent.parent
SECONDS, PEAK_MB = 5.0, 500
DUCKDB_WORDS = re.compile(r"duckdb|exception|error:|possible (fix|solution)|sniff|strict_mode", re.IGNORECASE)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    """Every case built (in a process of its own: a maker writes 200 MB of text), then read."""
    folder = tmp_path_factory.mktemp("registers")
    subprocess.run([sys.executable, "tests/corpus/registers.py", str(folder)], cwd=ROOT, check=True,
                   timeout=300)
    return read_each(folder)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_register_is_refused_in_bounds(results, case):
    got = results[case.id]
    hostile = got["hostile"]
    assert hostile["seconds"] < SECONDS, f"{case.note}: {hostile['seconds']:.1f} s"
    assert hostile["peak_mb"] < PEAK_MB, f"{case.note}: peak {hostile['peak_mb']:.0f} MB"
    errors = hostile["errors"]
    if case.rule is None:
        assert errors == [] and hostile["rows"] == case.rows, case.note
    else:
        assert {rule for rule, *_ in errors} == {case.rule}, f"{case.note}: {errors}"
        assert errors[0][1] == case.cell, f"{case.note}: {errors[0]}"
        assert hostile["rows"] == 0
    for _, _, message, fix in errors:
        assert message and fix and not DUCKDB_WORDS.search(message + fix), message
        assert len(message) < 300
    assert got["good"] == {**got["good"], "errors": [], "rows": 3}


def test_findings_say_where(results):
    """The line, cell or column of a few cases, in the partner's words."""
    message = {case.id: results[case.id]["hostile"]["errors"][0][2] for case in CASES if case.rule}
    assert message["long_line"] == ("Line 3 is longer than 1,048,576 bytes; a register line holds a few "
                                    "short values.")
    assert message["long_quoted_value"].startswith("Line 2 is longer than")
    assert message["undecodable"].startswith("The characters of the register file cannot be read")
    assert message["euro_signs"] == "The register file is 228.7 MB; the limit is 200 MB."
    assert message["extra_values"].startswith("Line 3 cannot be read")
    assert message["open_quote"].startswith("Line 3 cannot be read")
    assert message["dictionary_bomb"] == "'Participant code' in A holds a value longer than 1,000 characters."
    assert message["list_column"] == ("The column 'Participant code' (A) holds lists or records instead of "
                                      "single values.")
    assert message["many_rows"] == "The sheet has more than 1,048,576 rows."
    assert message["blank_lines"] == "From line 3 on, the file holds 100,000 or more blank lines in a row."
    long_values = results["long_values"]["hostile"]["errors"]
    assert [cell for _, cell, *_ in long_values] == [f"A{row}" for row in range(2, 52)]  # the first 50


def test_the_budgets_and_the_deadline(reg, tmp_path, monkeypatch):
    """Made small, they refuse a good register, and a long one once DuckDB has started on it."""
    good, many = tmp_path / GOOD.file, tmp_path / "many_lines_BG_2022-Q3_register.csv"
    GOOD.make(good)
    next(c for c in CASES if c.id == "many_lines").make(many)
    parquet = tmp_path / "BG_2022-Q3_register.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{good}')) TO '{parquet}' (FORMAT parquet)")
    assert register.read_file(parquet, reg).findings == []
    monkeypatch.setattr(register_scan, "MAX_FOOTER", 100)
    assert [f.rule for f in register.read_file(parquet, reg).findings] == ["register_too_complex"]
    monkeypatch.setattr(register_scan, "MAX_TEXT", 100)
    assert [f.rule for f in register.read_file(good, reg).findings] == ["register_too_much_text"]
    monkeypatch.setattr(register_scan, "MAX_TEXT", 10**9)
    monkeypatch.setattr(register_scan, "SECONDS", 0.05)
    assert [f.rule for f in register.read_file(many, reg).findings] == ["register_too_complex"]
    monkeypatch.setattr(register_scan, "SECONDS", 0)
    assert [f.rule for f in register.read_file(good, reg).findings] == ["register_too_complex"]
    monkeypatch.undo()
    assert register.read_file(good, reg).findings == []

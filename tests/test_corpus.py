"""The corpus of bad workbooks (tests/corpus/build.py), file by file.

(a) reading and validating each file gives exactly its errors, as (rule, sheet, cell);
(b) ingesting it into a database that already holds a good workbook rejects it and leaves every
    table as it was, keeping its bytes and findings in the quarantine; a case that must be
    accepted is accepted with the rows it reads.
The corpus is built once per run; its LibreOffice cases need LibreOffice (skipped without it,
except in CI). A case of a known bug of pipelines/ is xfail(strict=True) with the bug's reason.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import ingest
from pipelines.intake import read, validate
from tests.conftest import SOFFICE, need
from tests.corpus.build import SPECS, Case

GOOD = "BG_2022-Q2.xlsx"  # already in the database of (b): the quarter before most BG cases


def _marks(spec) -> list:
    return [pytest.mark.xfail(strict=True, reason=f"bug in pipelines/: {spec.bug}")] if spec.bug else []


CASES = [pytest.param(s.id, id=s.id, marks=_marks(s)) for s in SPECS]


def case_file(corpus, case_id: str) -> tuple[Case, Path]:
    folder, cases = corpus
    case = cases[case_id]
    if case.needs == "libreoffice":
        need(SOFFICE, "LibreOffice")
    assert case.made, f"{case.file} was not made: {case.error}"
    return case, folder / case.file


def errors_of(found: list[dict]) -> list[tuple[str, str, str]]:
    return sorted((f["rule"], f["sheet"], f["cell"]) for f in found if f["severity"] == "error")


def explain(case: Case, found: list[dict]) -> str:
    lines = [f"  {f['severity']:<7} {f['rule']:<22} {f['sheet']}!{f['cell']} {f['value']!r}: {f['message']}"
             for f in found]
    return (f"{case.file} ({case.note or case.kind}): expected errors {case.expected}, "
            f"found:\n" + ("\n".join(lines) or "  nothing"))


def test_the_corpus_has_at_least_40_cases(corpus):
    folder, cases = corpus
    assert len(cases) >= 40
    listed = json.loads((folder / "cases.json").read_text("utf-8"))
    assert [c["id"] for c in listed] == list(cases) == [s.id for s in SPECS]
    assert all((folder / c.file).is_file() for c in cases.values() if c.made)


# ---- (a) exactly the expected errors -------------------------------------------------------------


@pytest.mark.parametrize("case_id", CASES)
def test_file_gives_exactly_its_errors(corpus, reg, case_id):
    case, path = case_file(corpus, case_id)
    book = read.in_sandbox(path, reg)  # as every file is read: some stop the process reading them
    found = [f.as_dict() for f in validate.validate([book], reg)[book.sha256]]
    assert errors_of(found) == case.expected, explain(case, found)
    if case.rows is not None:
        assert {s: len(book.sheets[s].frame) for s in case.rows} == case.rows


# ---- (b) ingest: rejected, database unchanged, quarantined ------------------------------------------


@pytest.fixture(scope="module")
def good_db(tmp_path_factory, reg, demo_dir) -> Path:
    """A database holding one good demo workbook, copied by each test that writes."""
    path = tmp_path_factory.mktemp("corpus_db") / "mvh.duckdb"
    [outcome] = ingest.ingest([demo_dir / GOOD], reg, path)
    assert outcome.status == "accepted"
    return path


def snapshot(db: Path) -> dict:
    """Every table's row count, and the submissions themselves."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        submissions = con.execute("SELECT * FROM submissions ORDER BY submission_id").fetchall()
    return {"counts": counts, "submissions": submissions}


@pytest.mark.parametrize("case_id", CASES)
def test_ingest_rejects_it_and_leaves_the_database_unchanged(corpus, reg, good_db, tmp_path, case_id):
    case, path = case_file(corpus, case_id)
    db = tmp_path / "processed" / "mvh.duckdb"
    db.parent.mkdir()
    for part in good_db.parent.glob(good_db.name + "*"):  # the database and any write-ahead log
        shutil.copy(part, db.parent / part.name)
    before = snapshot(db)
    [outcome] = ingest.ingest([path], reg, db)
    after = snapshot(db)
    found = [f.as_dict() for f in outcome.findings]
    quarantine = db.parent / "quarantine"
    if case.accepted:
        assert outcome.status == "accepted", explain(case, found)
        grown = {t: after["counts"][t] - before["counts"][t] for t in ["submissions", *case.rows]}
        assert grown == {"submissions": 1, **case.rows}
        assert not quarantine.exists()
        return
    assert outcome.status == "rejected", explain(case, found)
    assert errors_of(found) == case.expected, explain(case, found)
    assert after == before
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert (quarantine / f"{sha}{path.suffix}").read_bytes() == data
    report = json.loads((quarantine / f"{sha}.json").read_text("utf-8"))
    assert (report["sha256"], report["file_name"], report["findings"]) == (sha, path.name, found)
    assert report["uploaded_by"] is None  # `ingest.ingest` called without a sender

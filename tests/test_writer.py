"""The single writer: readers never locked out, concurrent ingests and uploads queue, each upload
gets its own answer, and an ingest killed at any moment leaves the database whole."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading

import duckdb
import pytest

from pipelines import ingest, uploads
from pipelines.access import accounts
from pipelines.marts import kpis
from pipelines.store import integrity, writer
from tests.conftest import ROOT, mvh
from tests.dash_client import using

READ_COUNT = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "print(con.execute('SELECT count(*) FROM submissions').fetchone()[0])")


def whole(db, reg, deep: bool = False) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return integrity.problems(con, reg, deep)


def test_readers_open_the_database_while_the_writer_holds_it(tmp_path, demo_dir, reg):
    db = tmp_path / "mvh.duckdb"
    ingest.ingest([demo_dir / "AT_2022-Q1.xlsx"], reg, db)
    with writer.writing(db) as work:
        con = duckdb.connect(str(work))  # the writer holds its copy open, mid-transaction
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM activities")
        other = subprocess.run([sys.executable, "-c", READ_COUNT, str(db)], capture_output=True,
                               text=True, timeout=60)
        con.execute("ROLLBACK")
        con.close()
    assert (other.returncode, other.stdout.strip()) == (0, "1"), other.stderr


def test_two_ingests_at_once_both_land(tmp_path, demo_dir, reg):
    db = tmp_path / "mvh.duckdb"
    env = {**os.environ, "MVH_DB": str(db)}
    runs = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest",
                              *map(str, sorted(demo_dir.glob(f"{c}_*.xlsx")))],
                             env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for c in ("AT", "BG")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    expected = len(list(demo_dir.glob("AT_*.xlsx"))) + len(list(demo_dir.glob("BG_*.xlsx")))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone() == (expected,)
    assert whole(db, reg) == []


def test_simultaneous_uploads_queue_and_each_gets_its_own_answer(tmp_path, demo_dir, reg):
    db = tmp_path / "mvh.duckdb"
    files = sorted(demo_dir.glob("*_2023-Q2.xlsx"))
    assert len(files) == 7
    answers: dict[str, dict] = {}
    start = threading.Barrier(len(files))

    def upload(path):
        kept = uploads.keep(path.read_bytes(), path.name, db)
        start.wait()
        partner = f"partner-{path.name[:2].lower()}"
        answers[path.name] = uploads.submit(kept, reg, partner, path.name[:2], db)[1]

    threads = [threading.Thread(target=upload, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert {name: (a["status"], a["country"], a["version"]) for name, a in answers.items()} == {
        f.name: ("accepted", f.name[:2], 1) for f in files}
    assert uploads.pending(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(con.execute("SELECT uploaded_by FROM submissions").fetchall()) == sorted(
            (f"partner-{f.name[:2].lower()}",) for f in files)


def test_a_queued_upload_left_by_a_crash_is_ingested_by_the_next_writer(tmp_path, demo_dir, reg):
    db = tmp_path / "mvh.duckdb"
    kept = uploads.keep((demo_dir / "IT_2022-Q4.xlsx").read_bytes(), "IT_2022-Q4.xlsx", db)
    job = uploads.enqueue(kept, "partner-it", "IT", db)  # queued, then the request died
    with using(db):  # its outcome audited beside this database
        assert uploads.drain(reg, db) == 1
    assert uploads.result(job, db)["status"] == "accepted"
    result = mvh("integrity", db=db)
    assert "1 submission(s): whole" in result.stdout


def test_queued_uploads_are_ingested_together_and_a_broken_one_stops_no_other(tmp_path, demo_dir, reg):
    db = tmp_path / "mvh.duckdb"
    kept = [uploads.keep((demo_dir / name).read_bytes(), name, db)
            for name in ("AT_2022-Q1.xlsx", "BG_2022-Q1.xlsx", "BG_2022-Q2.xlsx")]
    jobs = [uploads.enqueue(kept[0], "partner-at", "AT", db),
            uploads.enqueue(tmp_path / "vanished.xlsx", "partner-fr", "FR", db),
            uploads.enqueue(kept[1], "partner-at", "AT", db),  # Bulgaria's file, from Austria's account
            uploads.enqueue(kept[2], "manager", None, db)]
    with using(db):
        assert uploads.drain(reg, db) == 4
    answers = [uploads.result(job, db) for job in jobs]
    assert [a["status"] for a in answers] == ["accepted", "failed", "rejected", "accepted"]
    assert [f["rule"] for f in answers[2]["findings"]] == ["uploader_country"]
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("SELECT country, quarter, uploaded_by FROM submissions ORDER BY 1, 2").fetchall()
    assert loaded == [("AT", "2022-Q1", "partner-at"), ("BG", "2022-Q2", "manager")]


DRAIN = ("import sys; from pipelines import uploads; from pipelines.declaration import registry; "
         "uploads.drain(registry.get(), sys.argv[1])")


def test_a_job_that_stops_two_writers_is_set_aside_and_the_queue_goes_on(tmp_path, demo_dir, reg):
    db = tmp_path / "processed" / "mvh.duckdb"
    poison = uploads.keep((demo_dir / "RO_2022-Q3.xlsx").read_bytes(), "RO_2022-Q3.xlsx", db)
    behind = uploads.keep((demo_dir / "RO_2022-Q4.xlsx").read_bytes(), "RO_2022-Q4.xlsx", db)
    first = uploads.enqueue(poison, "partner-ro", "RO", db, address="192.0.2.7")
    second = uploads.enqueue(behind, "partner-ro", "RO", db)
    job_file = uploads.queue_dir(db) / f"{first}.json"
    for attempt in (1, 2):  # a writer takes the job up and dies with it, twice
        writer_process = subprocess.Popen([sys.executable, "-c", DRAIN, str(db)], cwd=ROOT)
        while json.loads(job_file.read_text()).get("attempts") != attempt:
            assert writer_process.poll() is None, "the writer ended before it was killed"
        writer_process.send_signal(signal.SIGKILL)
        writer_process.wait()
    with using(db):  # the audit trail beside this database
        assert uploads.drain(reg, db) == 2
        failed = accounts.audit(10, action="upload_failed")
    set_aside, loaded = uploads.result(first, db), uploads.result(second, db)
    assert (set_aside["status"], set_aside["findings"][0]["rule"]) == ("failed", "unreadable")
    assert "stopped the loading twice" in set_aside["findings"][0]["message"]
    assert (loaded["status"], loaded["quarter"]) == ("accepted", "2022-Q4")
    report = json.loads((db.parent / "quarantine" / f"{poison.parent.name}.json").read_text())
    assert (report["uploaded_by"], report["uploader_country"], report["file_name"]) == \
        ("partner-ro", "RO", "RO_2022-Q3.xlsx")
    assert [(a["actor"], a["target"], a["address"]) for a in failed] == \
        [("partner-ro", "RO_2022-Q3.xlsx", "192.0.2.7")]


CHILD = """
import sys, pathlib
from pipelines import ingest
from pipelines.declaration import registry
from pipelines.intake import sandbox
sandbox.run(len, "")  # its sandbox started before "ready", so that kills land in the ingest itself
reg = registry.get()
print("ready", flush=True)
for path in sorted(pathlib.Path(sys.argv[2]).glob("*.xlsx")):
    ingest.ingest([path], reg, sys.argv[1])
"""


KILLED = ("AT", "BG", "IT")  # the countries the killed ingests load: with registers, with two organisations


def test_an_ingest_killed_at_random_moments_leaves_the_database_whole(tmp_path, demo_dir, demo_db, reg):
    db = tmp_path / "mvh.duckdb"
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in demo_dir.iterdir():
        if path.name[:2] in KILLED:
            shutil.copy2(path, raw / path.name)
    chance = random.Random(7)
    killed, loaded = 0, []
    while killed < 10:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(raw)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        try:
            child.wait(timeout=chance.uniform(0.05, 5.0))
            pytest.fail(f"the ingest ended before it was killed: {child.stderr.read()}")
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            killed += 1
        with writer.writing(db):  # the next start: publishes what the killed one committed
            pass
        if db.exists():
            assert whole(db, reg) == [], f"after kill {killed}"
            assert whole(writer.work_path(db), reg) == [], f"after kill {killed}"
            with duckdb.connect(str(db), read_only=True) as con:
                loaded.append(con.execute("SELECT count(*) FROM submissions").fetchone()[0])
    assert len(set(loaded)) >= 4, loaded  # the kills landed at many points of the ingest
    ingest.ingest([raw], reg, db)  # the rest, to the end
    assert whole(db, reg, deep=True) == []
    mine = f"country IN {KILLED}"
    with duckdb.connect(str(db), read_only=True) as con, \
            duckdb.connect(str(demo_db), read_only=True) as clean:
        crashed, expected = (kpis.as_json(kpis.compute(c, reg, "2023-Q4").query("country in @KILLED"),
                                          "2023-Q4")["kpis"] for c in (con, clean))
        assert con.execute(f"SELECT count(*) FROM submissions WHERE {mine}").fetchone() == \
            clean.execute(f"SELECT count(*) FROM submissions WHERE {mine}").fetchone()
    assert crashed == expected and len(crashed) == len(KILLED) * len(reg.kpis)

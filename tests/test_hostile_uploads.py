"""Hostile files through every door: `mvh check`, `mvh ingest` and the web upload of the real
gunicorn server in both modes. Each is answered with its finding; no worker dies; the database
is unchanged; a good upload right behind it is loaded. (Answer times against their 5 s target
are measured by `make bench`, bench/hostile.py.)"""

from __future__ import annotations

import re
import time

import pytest

from bench.upload_load import Browser, gunicorn, worker_pids
from pipelines import ingest
from pipelines.access import accounts
from pipelines.intake import messages
from tests.conftest import mvh
from tests.dash_client import PASSWORD, add_accounts, using
from tests.test_corpus import case_file, snapshot

# files that once stopped a reader: far cells, huge merges, cells placed by order (the sandbox's
# memory limit), lying zips, bombs, declarations in UTF-16, huge tables, deep XML
HOSTILE = ["far_cell_activities", "far_column_outreach", "merged_to_the_end_activities",
           "cells_without_reference", "utf16_entity_declaration", "zip_headers_lie_about_sizes",
           "zip_bomb", "entity_bomb_sheet", "huge_shared_strings", "deeply_nested_xml"]
# too large for the web: the browser refuses it, the server answers 413 (tests/test_dashboard_upload.py)
COMMAND_LINE = [*HOSTILE, "too_large"]
# `mvh check` of one of each kind of stop: a far cell, a dead reader, a lying zip, a huge merge
CHECKED = ["far_cell_activities", "cells_without_reference", "zip_headers_lie_about_sizes",
           "merged_to_the_end_activities"]
GOOD = "BG_2022-Q3.xlsx"


def said(rule: str) -> str:
    """The longest fixed part of a rule's English message: what the answer must show."""
    parts = re.split(r"\{[^}]*\}", messages.catalogue()[rule]["message"]["en"])
    return max((part.strip() for part in parts), key=len)


@pytest.fixture(scope="module")
def server(tmp_path_factory, reg, demo_dir):
    """gunicorn on a database holding BG's quarter before the good file; yields (URL, master,
    database)."""
    db = tmp_path_factory.mktemp("hostile") / "mvh.duckdb"
    ingest.ingest([demo_dir / "BG_2022-Q2.xlsx"], reg, db)
    add_accounts(db)
    with gunicorn(db) as (url, master):
        yield url, master, db


def test_hostile_files_get_their_answer_from_the_web_and_the_workers_serve_on(server, corpus, demo_dir):
    url, master, db = server
    browser = Browser(url)
    browser.login("manager", PASSWORD)
    for _ in range(6):  # every worker's sandbox warm, as on a server that has run a while
        assert browser.upload(demo_dir / GOOD, "check")[0] == 200
    workers = worker_pids(master)
    for case_id in HOSTILE:
        case, path = case_file(corpus, case_id)
        rule = case.expected[0][0] if case.expected else ""  # "": a file that must be accepted
        before = snapshot(db)
        for mode, verdict in (("check", "would be refused"), ("submit", "the workbook was not loaded")):
            started = time.perf_counter()
            status, text = browser.upload(path, mode, lang="en")
            seconds = time.perf_counter() - started
            assert status == 200, (case_id, mode, text)
            if rule:
                assert verdict in text and said(rule) in text, (case_id, mode, text)
            assert seconds < 30, f"{case_id} ({mode}) answered in {seconds:.1f} s"  # targets: make bench
        if rule:
            assert snapshot(db) == before, case_id
    assert worker_pids(master) == workers  # none died and was replaced
    status, text = browser.upload(demo_dir / GOOD)
    assert (status, text) == (200, "Loaded as BG 2022-Q3 version 1")
    with using(db):
        rejected = accounts.audit(1000, action="upload_rejected")
    assert len(rejected) >= len([c for c in HOSTILE if corpus[1][c].expected])


def test_hostile_files_through_the_command_line(tmp_path, corpus, demo_dir):
    folder = tmp_path / "raw"
    folder.mkdir()
    for case_id in COMMAND_LINE:
        case, path = case_file(corpus, case_id)
        (folder / path.name).write_bytes(path.read_bytes())
        if case_id in CHECKED:
            checked = mvh("check", str(path), "--lang", "en", "-o", str(tmp_path / f"{case_id}.checked.xlsx"),
                          check=False)
            assert checked.returncode == 1, (case_id, checked.stdout, checked.stderr)
            assert said(case.expected[0][0]) in " ".join(checked.stdout.split()), case_id
    (folder / GOOD).write_bytes((demo_dir / GOOD).read_bytes())
    db = tmp_path / "processed" / "mvh.duckdb"
    done = mvh("ingest", str(folder), db=db, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("rejected") for line in lines) == \
        len([c for c in COMMAND_LINE if corpus[1][c].expected]), done.stdout
    assert any(line.startswith("accepted") and "BG 2022-Q3 v1" in line for line in lines), done.stdout

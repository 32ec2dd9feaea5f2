"""Uploads on a data folder that fills up or turns read-only (a real tmpfs: the
`data_folder` fixture): a clear answer, no temporary file left, the published
database as it was and readable, and uploads work again once there is room."""

from __future__ import annotations

import os
import re

from tests.conftest import fill, remount
from tests.dash_client import login, render, text
from tests.test_corpus import snapshot
from tests.test_upload_edges import payload_of, shown, upload
from tests.workbooks import edited

FULL = "The server cannot store files at the moment"


def correction(demo_dir, reg, tmp_path):
    cover = reg.sheet("cover").label("bg")
    return edited(demo_dir / "BG_2023-Q4.xlsx", tmp_path / "BG_2023-Q4.xlsx", {(cover, "B6"): "A correction"})


def leftovers(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp"))


def test_a_disk_that_fills_up_while_uploading(app, data_folder, demo_dir, reg, tmp_path):
    client = app.server.test_client()
    assert login(client, "manager").status_code == 302
    before = snapshot(data_folder / "mvh.duckdb")
    workbook = payload_of(correction(demo_dir, reg, tmp_path))  # the same bytes each time
    fill(data_folder)
    for room in (0, 256 * 1024):  # nothing left; room for the upload, none for the database's copy
        os.truncate(data_folder / "filler", os.path.getsize(data_folder / "filler") - room)
        answer = shown(upload(client, workbook, "submit"))
        assert FULL in answer, answer[:1500]
        assert leftovers(data_folder) == []
        assert snapshot(data_folder / "mvh.duckdb") == before
        assert "Submissions" in text(render(client, "/submissions"))
    (data_folder / "filler").unlink()
    answer = shown(upload(client, workbook, "submit"))  # loaded now, with the job kept when it failed
    assert re.search(r"Loaded as BG 2023-Q4 version \d|nothing changed", answer), answer[:1500]
    after = snapshot(data_folder / "mvh.duckdb")["counts"]["submissions"]
    assert after == before["counts"]["submissions"] + 1


def test_a_read_only_data_folder_while_uploading(app, data_folder, demo_dir, reg, tmp_path):
    client = app.server.test_client()
    assert login(client, "manager").status_code == 302
    remount(data_folder, "ro")
    for mode in ("check", "submit"):
        answer = shown(upload(client, payload_of(correction(demo_dir, reg, tmp_path)), mode))
        assert FULL in answer, answer[:1500]
    remount(data_folder, "rw")
    assert leftovers(data_folder) == []

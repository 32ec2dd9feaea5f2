"""The upload callback at its edges, through the real app: file names of any length and script,
arguments of the wrong type, and another country's workbook, which must tell the sender nothing
of that country and change nothing on its pages."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from dashboard import data, tables
from pipelines import ingest, uploads
from pipelines.ingest import ANNOTATED_SUFFIX
from tests.dash_client import add_accounts, dependencies, fire, login, render
from tests.workbooks import edited


@pytest.fixture
def database(tmp_path, reg, demo_dir, monkeypatch):
    """Bulgaria's first two quarters loaded: the history a check of its third compares with."""
    db = tmp_path / "processed" / "mvh.duckdb"
    ingest.ingest([demo_dir / "BG_2022-Q1.xlsx", demo_dir / "BG_2022-Q2.xlsx"], reg, db)
    add_accounts(db)
    monkeypatch.setenv("MVH_DB", str(db))
    return db


def spec_of(client, output: str) -> dict:
    return next(s for s in dependencies(client) if s["output"] == output)


def upload(client, payload, mode="check", lang=""):
    return fire(client, spec_of(client, "upload-result.children"), [payload], [mode, lang])


def payload_of(path, name: str | None = None) -> dict:
    contents = "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
    return {"contents": contents, "filename": name or path.name, "at": 1}


def shown(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.dumps(response.get_json(), ensure_ascii=False)


@pytest.mark.parametrize("name", ["a" * 127 + ".xlsx", "Отчет за тримесечието " * 8 + ".xlsx",
                                  "報告" * 100 + ".xlsx", "../../" + "Σύνολο" * 30 + ".xlsx"])
def test_a_name_of_any_length_and_script_keeps_its_extension(app, database, demo_dir, reg, tmp_path, name):
    client = app.server.test_client()
    login(client, "partner-bg")
    bad = edited(demo_dir / "BG_2022-Q3.xlsx", tmp_path / "bad.xlsx",
                 {(reg.sheet("activities").label("bg"), "G3"): "twenty"})
    text = shown(upload(client, payload_of(bad, name)))
    assert "1 error(s): the workbook would be refused" in text
    kept, marked = sorted(uploads.uploads_dir(database).glob("*/*.xlsx"), key=lambda p: len(p.name))
    assert kept.suffix == ".xlsx" and len(kept.name.encode()) <= 200
    assert marked.name == kept.stem + ANNOTATED_SUFFIX and len(marked.name.encode()) <= 255
    download = fire(client, spec_of(client, "upload-annotated-download.data"), [1])
    sent = download.get_json()["response"]["upload-annotated-download"]["data"]
    assert sent["filename"] == Path(kept.name).stem + ANNOTATED_SUFFIX  # after the partner's own file
    assert base64.b64decode(sent["content"])[:2] == b"PK"


@pytest.mark.parametrize("payload, mode, lang", [
    ({"contents": 5, "filename": ["x.xlsx"]}, "check", ""),
    ({"contents": "data:;base64,UEsDBA==", "filename": {"a": 1}}, "check", ""),
    ({"contents": "data:;base64,UEsDBA==", "filename": "x.xlsx"}, ["submit"], {"bg": 1}),
    ({"contents": "data:;base64,UEsDBA==", "filename": "x" * 100_000}, 7, None),
    ("a text instead of a file", "check", ""),
    ([1, 2, 3], "check", "de"),
])
def test_wrongly_typed_arguments_get_an_answer(app, database, payload, mode, lang):
    client = app.server.test_client()
    login(client, "manager")
    response = upload(client, payload, mode, lang)
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]
    if response.status_code == 200 and isinstance(payload, dict):
        assert "upload-verdict" in shown(response)


def test_another_countrys_workbook_tells_nothing_of_that_country(app, database, demo_dir, reg, tmp_path):
    outreach = reg.sheet("outreach").label("bg")
    # a figure a hundred times Bulgaria's largest: a check against its history would name it
    odd = edited(demo_dir / "BG_2022-Q3.xlsx", tmp_path / "BG_2022-Q3.xlsx", {(outreach, "D3"): 9_999_999})
    client = app.server.test_client()
    login(client, "partner-ro")
    for mode, verdict in (("check", "1 error(s): the workbook would be refused"),
                          ("submit", "1 error(s): the workbook was not loaded")):
        text = shown(upload(client, payload_of(odd), mode, "en"))
        assert verdict in text, text[:2000]
        assert "This workbook is for BG, but you report for RO." in text
        assert text.count("finding-error") == 1 and "finding-warning" not in text
    [report] = data.rejected()
    assert (report["country"], report["named_country"], report["uploaded_by"], report["uploader_country"]) \
        == ("", "BG", "partner-ro", "RO")
    matrix = tables.submission_matrix(data.submissions(), data.rejected(), reg, dt.date(2026, 1, 1))
    bulgaria = matrix[(matrix["country"] == "BG") & (matrix["quarter"] == "2022-Q3")]
    assert list(bulgaria["status"]) == ["missing"]
    for username, sees in (("manager", True), ("partner-ro", True), ("partner-bg", False)):
        reader = app.server.test_client()
        login(reader, username)
        page = shown(render(reader, "/quality"))
        assert "quality-refused" in page
        assert ('"sent_by": "partner-ro"' in page) is sees, username

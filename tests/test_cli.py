"""The `mvh` command as a user runs it: help everywhere, KPIs as JSON, clear errors."""

from __future__ import annotations

import json

import pytest

from tests.conftest import mvh

COMMANDS = ["template", "demo-data", "check", "ingest", "kpis", "serve"]


def test_every_command_is_listed_and_has_help():
    listing = mvh("--help").stdout
    for command in COMMANDS:
        assert command in listing
        text = mvh(command, "--help").stdout
        assert "Usage:" in text and "--help" in text


def test_kpis_json_has_the_documented_shape(demo_db):
    report = json.loads(mvh("kpis", "--json", "--as-of", "2023-Q4", db=demo_db).stdout)
    assert report["as_of"] == "2023-Q4"
    overall = {k["id"]: k for k in report["kpis"] if k["country"] is None}
    assert {k: overall[k]["value"] for k in overall} == {
        "councils_established": 5, "councils_strengthened": 2, "authorities_supporting": 7,
        "migrants_reached": 1_046_634, "direct_participants": 5_533,
        "unique_participants": 798}
    assert overall["migrants_reached"]["target"] == 1_000_000
    assert {k["country"] for k in report["kpis"]} == {None, "AT", "BG", "FR", "GR", "HU", "IT", "RO"}
    assert set(report["kpis"][0]) >= {"id", "country", "value", "target", "percent", "planned", "status"}


def test_kpis_default_to_the_latest_quarter(demo_db):
    assert json.loads(mvh("kpis", "--json", db=demo_db).stdout)["as_of"] == "2023-Q4"


def test_kpis_without_a_database_says_what_to_do(tmp_path):
    result = mvh("kpis", db=tmp_path / "none.duckdb", check=False)
    assert result.returncode == 2
    assert "mvh ingest" in result.stdout


def test_template_writes_a_workbook(tmp_path):
    out = tmp_path / "bg.xlsx"
    mvh("template", "--country", "BG", "--quarter", "2022-Q3", "-o", str(out))
    assert out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(("args", "message"), [
    (["--country", "XX", "--quarter", "2022-Q3"], "unknown country 'XX'"),
    (["--country", "BG", "--quarter", "2030-Q1"], "outside the project period"),
])
def test_template_refuses_with_a_hint(tmp_path, args, message):
    result = mvh("template", *args, "-o", str(tmp_path / "x.xlsx"), check=False)
    assert result.returncode == 2
    assert message in " ".join(result.stdout.split())


def test_ingest_prints_one_line_per_file(demo_dir, db_path):
    result = mvh("ingest", str(demo_dir / "AT_2022-Q1.xlsx"), str(demo_dir / "AT_2022-Q2.xlsx"),
                 db=db_path)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["accepted", "AT", "2022-Q1", "v1"]
    assert lines[1].split()[:4] == ["accepted", "AT", "2022-Q2", "v1"]
    assert "2 file(s): 2 accepted, 0 rejected, 0 unchanged" in lines[2]
    again = mvh("ingest", str(demo_dir / "AT_2022-Q1.xlsx"), db=db_path).stdout
    assert again.startswith("unchanged")


def test_check_reports_cells_and_fails_on_errors(demo_dir, tmp_path, reg):
    from tests.workbooks import edited

    sheet = reg.sheet("activities").label("ro")
    bad = edited(demo_dir / "RO_2022-Q4.xlsx", tmp_path / "bad.xlsx", {(sheet, "H3"): 999})
    result = mvh("check", str(bad), "--json", "-o", str(tmp_path / "marked.xlsx"), check=False)
    assert result.returncode == 1
    found = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["sheet"], f["cell"]) for f in found] == [("sum", sheet, "G3")]
    assert mvh("check", str(demo_dir / "RO_2022-Q4.xlsx"), "-o", str(tmp_path / "ok.xlsx")).returncode == 0

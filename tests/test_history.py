"""Across quarters and versions: status going back, outliers, unknown ids, `mvh history`."""

from __future__ import annotations

import json
import os

import duckdb

from pipelines import ingest
from tests.conftest import mvh
from tests.workbooks import edited


def later(path, seconds=60):
    """Make a file look received after the others (ingest takes files in order of mtime)."""
    stamp = path.stat().st_mtime + seconds
    os.utime(path, (stamp, stamp))
    return path


def sheet(reg, sheet_id, country):
    return reg.sheet(sheet_id).label(reg.country(country).language)


def warnings_of(outcome):
    return [(f.rule, f.sheet, f.cell) for f in outcome.findings if f.severity == "warning"]


def test_a_status_going_back_is_a_warning_unless_explained(reg, demo_dir, tmp_path, db_path):
    ingest.ingest([demo_dir / "GR_2022-Q2.xlsx"], reg, db_path)  # the council is established
    councils = sheet(reg, "councils", "GR")
    back = edited(demo_dir / "GR_2022-Q3.xlsx", tmp_path / "GR_2022-Q3.xlsx", {(councils, "F3"): "planned"})
    [outcome] = ingest.ingest([back], reg, db_path)
    assert outcome.status == "accepted"
    assert warnings_of(outcome) == [("status_backwards", councils, "F3")]
    assert "'established' (2022-Q2)" in outcome.findings[0].message
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT rule, cell FROM findings").fetchall() == [("status_backwards", "F3")]
    explained = edited(
        back,
        tmp_path / "explained" / "GR_2022-Q3.xlsx",
        {(councils, "N3"): "Elections annulled; the council is re-founded."},
    )
    [outcome] = ingest.ingest([later(explained)], reg, db_path)
    assert outcome.status == "accepted" and warnings_of(outcome) == []


def test_a_figure_far_above_the_partners_history_is_a_warning(reg, demo_dir, tmp_path, db_path):
    ingest.ingest([demo_dir / f"IT_{q}.xlsx" for q in ("2022-Q1", "2022-Q2", "2022-Q3")], reg, db_path)
    activities = sheet(reg, "activities", "IT")
    big = edited(
        demo_dir / "IT_2022-Q4.xlsx",
        tmp_path / "IT_2022-Q4.xlsx",
        {
            (activities, "G3"): 5000,
            (activities, "H3"): 5000,
            (activities, "I3"): 0,
            (activities, "J3"): 0,
            (activities, "K3"): 0,
            (activities, "L3"): 5000,
            (activities, "M3"): 0,
            (activities, "N3"): 0,
            (activities, "O3"): 0,
            (activities, "P3"): 0,
        },
    )
    [outcome] = ingest.ingest([big], reg, db_path)
    assert outcome.status == "accepted"
    assert warnings_of(outcome) == [("outlier", activities, "G3")]
    assert "2022-Q1–2022-Q3" in outcome.findings[0].message


def test_an_activity_of_an_unknown_council_is_an_error(reg, demo_dir, tmp_path, db_path):
    activities = sheet(reg, "activities", "HU")
    bad = edited(demo_dir / "HU_2022-Q2.xlsx", tmp_path / "HU_2022-Q2.xlsx", {(activities, "B3"): "HU-C9"})
    [outcome] = ingest.ingest([bad], reg, db_path)
    assert outcome.status == "rejected"
    assert [(f.rule, f.cell, f.value) for f in outcome.findings] == [("unknown_reference", "B3", "HU-C9")]


def test_an_upload_for_another_country_is_refused(reg, demo_dir, db_path):
    [outcome] = ingest.ingest([demo_dir / "FR_2022-Q2.xlsx"], reg, db_path, uploader_country="BG")
    assert outcome.status == "rejected"
    assert [(f.rule, f.value) for f in outcome.findings] == [("uploader_country", "FR")]


def test_history_lists_versions_changed_cells_and_kpi_effect(reg, demo_dir, tmp_path, db_path):
    ingest.ingest([demo_dir / "RO_2023-Q2.xlsx"], reg, db_path, uploaded_by="ana@patrir")
    outreach = sheet(reg, "outreach", "RO")
    fixed = later(
        edited(demo_dir / "RO_2023-Q2.xlsx", tmp_path / "RO_2023-Q2 v2.xlsx", {(outreach, "D4"): 1000})
    )
    ingest.ingest([fixed], reg, db_path, uploaded_by="ion@patrir")
    report = json.loads(
        mvh("history", "--country", "RO", "--quarter", "2023-Q2", "--json", db=db_path).stdout
    )
    v1, v2 = report["versions"]
    assert (v1["version"], v1["uploaded_by"], v2["version"], v2["uploaded_by"]) == (
        1,
        "ana@patrir",
        2,
        "ion@patrir",
    )
    [change] = v2["changed_cells"]
    assert (change["sheet"], change["cell"], change["field"], change["after"]) == (
        outreach,
        "D4",
        "migrants_reached",
        "1000",
    )
    effect = {(e["kpi"], e["country"]): e["change"] for e in v2["kpi_effect"]}
    assert effect[("migrants_reached", "RO")] == 1000 - int(change["before"])
    assert effect[("councils_established", None)] == 0
    text = mvh("history", "--country", "RO", "--quarter", "2023-Q2", db=db_path).stdout
    assert "v2 RO_2023-Q2 v2.xlsx" in text and "migrants_reached" in text


def test_history_refuses_an_unknown_country_or_quarter(db_path, demo_dir, reg):
    ingest.ingest([demo_dir / "AT_2022-Q1.xlsx"], reg, db_path)
    for args in (["--country", "XX", "--quarter", "2022-Q1"], ["--country", "AT", "--quarter", "2022-Q1'"]):
        result = mvh("history", *args, db=db_path, check=False)
        assert result.returncode == 2
        assert "not a country and quarter of the project" in " ".join(result.stdout.split())

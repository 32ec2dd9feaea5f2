"""A pack reported to the EU (`mvh export --submitted`): the quarters it counts are locked, a
returned quarter stops it, and a correction after a reopening is listed as a revision of the
reported figures in the next pack."""

from __future__ import annotations

import duckdb

from pipelines import ingest
from pipelines.export import submitted
from pipelines.marts import kpis
from tests.conftest import mvh
from tests.test_approvals import later, states
from tests.test_export import sheet
from tests.workbooks import copied, edited

PERIOD = "2022-Q1..2022-Q3"


def reached(db, reg, country=None) -> float:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = kpis.compute(con, reg, "2022-Q3")
    rows = frame[(frame["id"] == "migrants_reached") & (
        frame["country"].isna() if country is None else frame["country"] == country)]
    return rows["value"].item()


def test_report_locks_then_a_correction_is_a_revision(reg, demo_dir, tmp_path):
    db = tmp_path / "processed" / "mvh.duckdb"
    files = [copied(demo_dir / f"{c}_{q}.xlsx", tmp_path / "in" / f"{c}_{q}.xlsx")
             for c in ("GR", "RO") for q in ("2022-Q2", "2022-Q3")]
    ingest.ingest(later(*files), reg, db)
    mvh("return", "--country", "RO", "--quarter", "2022-Q3", "--reason", "Dates are wrong", db=db)

    stopped = mvh("export", "--period", PERIOD, "--submitted", "-o", str(tmp_path / "no.xlsx"), db=db,
                  check=False)
    assert stopped.returncode == 2 and "RO 2022-Q3 was returned" in stopped.stdout
    assert not (tmp_path / "no.xlsx").exists() and submitted.packs(db) == []
    assert states(db, reg)[("GR", "2022-Q3", "")] == "submitted"  # nothing approved by a refusal

    mvh("approve", "--country", "RO", "--quarter", "2022-Q3", "--comment", "Dates explained", db=db)
    first = tmp_path / "interim.xlsx"
    out = mvh("export", "--period", PERIOD, "--submitted", "-o", str(first), db=db).stdout
    assert "reported to the EU" in out
    [reported] = submitted.packs(db)
    assert (reported["period"], reported["as_of"]) == (PERIOD, "2022-Q3")
    assert reported["actor"].startswith("cli:")
    assert set(states(db, reg).values()) >= {"approved"}
    assert {k: v for k, v in states(db, reg).items() if k[0] in ("GR", "RO") and k[1] >= "2022-Q2"} == {
        ("GR", "2022-Q2", ""): "approved", ("GR", "2022-Q3", ""): "approved",
        ("RO", "2022-Q2", ""): "approved", ("RO", "2022-Q3", ""): "approved"}
    readme = {r["Item"]: r["Value"] for r in sheet(first, "README")}
    assert readme["Revisions"].startswith("None")
    reviewed = {(r["Country"], r["Quarter"]): r["Review"] for r in sheet(first, "Submissions & data quality")
                if r["Status"] == "current"}
    assert reviewed[("GR", "2022-Q3")] == reviewed[("RO", "2022-Q2")] == "approved"
    assert readme["Approved"].startswith("4 of 4 current versions")
    status = mvh("status", "--as-of", "2022-Q3", "--json", db=db).stdout
    assert f"reported to the EU (period {PERIOD})" in status

    original = tmp_path / "in" / "GR_2022-Q3.xlsx"
    corrected = edited(original, tmp_path / "v2" / "GR_2022-Q3.xlsx",
                       {(reg.sheet("outreach").label("el"), "D4"): 1})
    [locked] = ingest.ingest(later(corrected), reg, db)
    assert locked.status == "rejected" and locked.findings[0].rule == "approved_locked"

    reported_gr, reported_all = reached(db, reg, "GR"), reached(db, reg)
    mvh("reopen", "--country", "GR", "--quarter", "2022-Q3", "--reason", "Outreach double counted", db=db)
    [v2] = ingest.ingest(later(copied(corrected, tmp_path / "v2b" / "GR_2022-Q3.xlsx")), reg, db)
    assert (v2.status, v2.version) == ("accepted", 2)
    now_gr = reached(db, reg, "GR")
    assert now_gr != reported_gr

    final = tmp_path / "final.xlsx"
    mvh("export", "--period", "2022-Q1..2022-Q4", "-o", str(final), db=db)
    rows = {(r["KPI"], r["Country"]): r for r in sheet(final, "Revisions")}
    label = reg.kpi("migrants_reached").label
    gr, everyone = rows[(label, "GR")], rows[(label, submitted.ALL)]
    change = now_gr - reported_gr
    assert (gr["Value reported"], gr["Value now"], gr["Change"]) == (reported_gr, now_gr, change)
    assert (everyone["Value reported"], everyone["Value now"]) == (reported_all, reached(db, reg))
    assert gr["Reported in pack"] == reported["id"] and gr["As of"] == "2022-Q3"
    assert gr["Versions changed since"] == "GR 2022-Q3 v1 → v2"
    assert {country for _, country in rows} == {"GR", submitted.ALL}  # no other figure moved
    readme = {r["Item"]: r["Value"] for r in sheet(final, "README")}
    assert readme["Revisions"].startswith(f"{len(rows)} figure(s) of 1 pack(s)")

"""The review loop on the command line: status, return, a correction, approval, the lock on an
approved quarter, reopening, approved-only KPIs; per organisation where a country reports so."""

from __future__ import annotations

import json
import os

import duckdb

from pipelines import ingest
from pipelines.access import accounts, approvals
from pipelines.marts import kpis
from tests.conftest import mvh
from tests.dash_client import using
from tests.test_export import sheet
from tests.workbooks import copied, edited


def later(*paths):
    """Make the files look received now, in the order given (ingest takes them by mtime)."""
    for number, path in enumerate(paths):
        stamp = 2_000_000_000 + 60 * number
        os.utime(path, (stamp, stamp))
    return list(paths)


def states(db, reg, as_of="2022-Q3") -> dict[tuple, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = approvals.table(con, reg, as_of, db)
    return {(r["country"], r["quarter"], r["organisation"]): r["state"] for r in rows}


def reached(db, reg, country, as_of="2022-Q3", approved_only=False) -> float:
    with duckdb.connect(str(db), read_only=True) as con:
        counted = approvals.approved_only(con, db) if approved_only else "current_submissions"
        frame = kpis.compute(con, reg, as_of, current=counted)
    return frame.query("id == 'migrants_reached' and country == @country")["value"].item()


def versions(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM submissions").fetchone()[0]


def test_return_correct_approve_lock_reopen(reg, demo_dir, tmp_path):
    db = tmp_path / "processed" / "mvh.duckdb"
    q2, q3 = (copied(demo_dir / f"RO_{q}.xlsx", tmp_path / "in" / f"RO_{q}.xlsx")
              for q in ("2022-Q2", "2022-Q3"))
    ingest.ingest(later(q2, q3), reg, db)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "submitted"
    assert states(db, reg)[("BG", "2022-Q3", "")] == "expected"

    mvh("return", "--country", "RO", "--quarter", "2022-Q3", "--reason", "Training dates are wrong", db=db)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "returned"
    refused = mvh("reopen", "--country", "RO", "--quarter", "2022-Q3", "--reason", "x", db=db, check=False)
    assert refused.returncode == 2 and "RO 2022-Q3 is returned: it can be reopened only when approved" \
        in refused.stdout

    cover = reg.cover.label("ro")
    fixed = edited(q3, tmp_path / "v2" / "RO_2022-Q3.xlsx", {(cover, "B6"): "Corrected by the partner"})
    [v2] = ingest.ingest([fixed], reg, db)
    assert (v2.status, v2.version) == ("accepted", 2)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "submitted"  # returned, then corrected

    assert reached(db, reg, "RO", approved_only=True) == 0  # nothing approved yet
    mvh("approve", "--country", "RO", "--quarter", "2022-Q3", "--comment", "Checked", db=db)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "approved"
    approved = json.loads(mvh("kpis", "--as-of", "2022-Q3", "--approved-only", "--json", db=db).stdout)
    [shown] = [k["value"] for k in approved["kpis"] if (k["id"], k["country"]) == ("migrants_reached", "RO")]
    assert shown == reached(db, reg, "RO") - reached(db, reg, "RO", "2022-Q2") > 0  # Q3's outreach only
    last = json.loads(mvh("status", "--as-of", "2022-Q3", "--json", db=db).stdout)["states"][-1]
    assert [last[k] for k in ("country", "quarter", "version", "state", "decided_reason")] == [
        "RO", "2022-Q3", 2, "approved", "Checked"]
    assert last["decided_actor"].startswith("cli:")
    pack = tmp_path / "approved.xlsx"
    mvh("export", "--period", "2022-Q1..2022-Q3", "--approved-only", "-o", str(pack), db=db)
    readme = {r["Item"]: r["Value"] for r in sheet(pack, "README")}
    assert readme["Counted"].startswith("approved quarters only")
    assert readme["Approved"].startswith("1 of 2 current versions")
    assert readme["Approved"].endswith(": RO 2022-Q3")
    summary = {r["KPI id"]: r for r in sheet(pack, "KPI summary")}
    assert summary["migrants_reached"]["Cumulative to 2022-Q3"] == shown

    again = edited(q3, tmp_path / "v3" / "RO_2022-Q3.xlsx", {(cover, "B6"): "Another change"})
    before = versions(db)
    [locked] = ingest.ingest([again], reg, db)
    assert locked.status == "rejected" and versions(db) == before
    [finding] = locked.findings
    assert finding.rule == "approved_locked" and "cli:" in finding.message and "reopen" in finding.fix
    assert (db.parent / "quarantine" / f"{locked.sha256}.xlsx").read_bytes() == again.read_bytes()

    no_reason = mvh("reopen", "--country", "RO", "--quarter", "2022-Q3", "--reason", " ", db=db, check=False)
    assert no_reason.returncode == 2 and "give the reason" in no_reason.stdout
    mvh("reopen", "--country", "RO", "--quarter", "2022-Q3", "--reason", "The partner found a typo", db=db)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "reopened"
    again_later = copied(again, tmp_path / "v3b" / "RO_2022-Q3.xlsx")
    [v3] = ingest.ingest([again_later], reg, db)
    assert (v3.status, v3.version) == ("accepted", 3)
    assert states(db, reg)[("RO", "2022-Q3", "")] == "submitted"

    with using(db):
        trail = [(a["action"], a["target"]) for a in accounts.audit(20) if a["action"].startswith("quarter_")]
    assert trail == [("quarter_reopened", "RO 2022-Q3"), ("quarter_approved", "RO 2022-Q3"),
                     ("quarter_returned", "RO 2022-Q3")]


def test_an_organisations_approval_locks_only_its_workbook(reg, demo_dir, tmp_path):
    db = tmp_path / "processed" / "mvh.duckdb"
    earlier = [copied(p, tmp_path / "in" / p.name) for p in sorted(demo_dir.glob("IT_2022-Q[23]*.xlsx"))]
    ingest.ingest(later(*earlier), reg, db)
    mvh("approve", "--country", "IT", "--quarter", "2022-Q3", "--organisation", "regione campania", db=db)
    assert {k: v for k, v in states(db, reg).items() if k[:2] == ("IT", "2022-Q3")} == {
        ("IT", "2022-Q3", "ActionAid Italia"): "submitted", ("IT", "2022-Q3", "Regione Campania"): "approved"}
    cover = reg.cover.label("it")
    actionaid, regione = (edited(tmp_path / "in" / name, tmp_path / "v2" / name, {(cover, "B6"): "v2"})
                          for name in ("IT_2022-Q3.xlsx", "IT_2022-Q3_Regione_Campania.xlsx"))
    outcomes = ingest.ingest(later(actionaid, regione), reg, db)
    assert [(o.organisation, o.status) for o in outcomes] == [("ActionAid Italia", "accepted"),
                                                              ("Regione Campania", "rejected")]
    assert "IT 2022-Q3 Regione Campania" in outcomes[1].findings[0].message

"""The load test against the production server: 7 partners x 6 rounds of simultaneous uploads
(`make bench` runs 10); every upload accepted exactly once, no error, the same KPIs as ingesting
the files one by one."""

from __future__ import annotations

import json

import duckdb

from bench import upload_load
from pipelines import ingest
from pipelines.access import accounts
from pipelines.marts import kpis
from tests.dash_client import PASSWORD, using

ROUNDS = 4  # rounds of seven simultaneous uploads: the demo quarters, then corrections


def partners(db, reg) -> None:
    with using(db):
        for c in reg.countries:
            accounts.add(f"partner-{c.code.lower()}", "partner", PASSWORD, c.code, reg,
                         c.partners[0] if reg.per_partner(c.code) else None)


def kpi_report(db, reg) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return json.dumps(kpis.as_json(kpis.compute(con, reg, "2023-Q4"), "2023-Q4"), sort_keys=True,
                          default=str)


def test_seven_partners_uploading_at_once_round_after_round(tmp_path, demo_dir, reg):
    plan = upload_load.workbooks(reg, demo_dir, tmp_path / "corrections", rounds=ROUNDS)
    assert sorted(len(files) for files in plan.values()) == [ROUNDS] * 7
    db = tmp_path / "served" / "mvh.duckdb"
    partners(db, reg)
    with upload_load.production_server(db) as url:
        done = upload_load.run(url, plan, PASSWORD)
    assert len(done) == 7 * ROUNDS
    assert [(u.country, u.round, u.status) for u in done if u.status != 200] == []
    versions: dict[tuple[str, str], int] = {}
    for u in done:  # in each partner's order: its quarters, then corrections of its last quarter
        quarter = u.file.stem.split("_")[1]
        versions[(u.country, quarter)] = versions.get((u.country, quarter), 0) + 1
        key = f"{u.country} {quarter}" + (" ActionAid Italia" if u.country == "IT" else "")
        assert u.verdict == f"Loaded as {key} version {versions[(u.country, quarter)]}", u
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT submission_id) FROM submissions"
                           ).fetchone() == (7 * ROUNDS, 7 * ROUNDS)
        assert con.execute("SELECT count(*) FROM submissions WHERE uploaded_by <> "
                           "'partner-' || lower(country)").fetchone() == (0,)
    with using(db):
        audited = accounts.audit(1000, action="upload") + accounts.audit(1000, action="correct")
    assert len(audited) == 7 * ROUNDS
    one_by_one = tmp_path / "one-by-one" / "mvh.duckdb"
    for number in range(ROUNDS):
        for files in plan.values():
            ingest.ingest([files[number]], reg, one_by_one)
    assert kpi_report(db, reg) == kpi_report(one_by_one, reg)

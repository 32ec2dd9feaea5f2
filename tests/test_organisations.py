"""Several partner organisations in one country: Italy reports per organisation in the demo
(ActionAid Italia sends IT_<quarter>.xlsx, Regione Campania IT_<quarter>_Regione_Campania.xlsx).
Versions per organisation, flows summed, entities once, warnings across organisations, ids
compared as people type them, partners bound to their organisation."""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import pytest
from openpyxl import load_workbook

from pipelines import ingest
from pipelines.access import accounts
from pipelines.marts import kpis, provenance
from tests.conftest import mvh
from tests.dash_client import PASSWORD, using
from tests.workbooks import copied, edited

EARLIER = ("2021-Q4", "2022-Q1", "2022-Q2")
ACTIONAID, REGIONE = "IT_2022-Q3.xlsx", "IT_2022-Q3_Regione_Campania.xlsx"


def in_order(*paths):
    """Make the files look received in the order given (ingest takes them by mtime)."""
    for number, path in enumerate(paths):
        stamp = 2_000_000_000 + 60 * number
        os.utime(path, (stamp, stamp))
    return list(paths)


@pytest.fixture(scope="module")
def before_q3(tmp_path_factory, reg, demo_dir):
    """A database with both Italian organisations' workbooks up to 2022-Q2."""
    path = tmp_path_factory.mktemp("it") / "mvh.duckdb"
    files = sorted(p for p in demo_dir.glob("IT_*.xlsx") if p.name[3:10] in EARLIER)
    assert len(files) == 6
    assert {o.status for o in ingest.ingest(files, reg, path)} == {"accepted"}
    return path


@pytest.fixture
def it_db(before_q3, tmp_path):
    target = tmp_path / "processed" / "mvh.duckdb"
    target.parent.mkdir()
    shutil.copyfile(before_q3, target)
    return target


def italy(db, reg, as_of="2022-Q3") -> dict[str, float]:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = kpis.compute(con, reg, as_of)
    return {r["id"]: r["value"] for r in frame[frame["country"] == "IT"].to_dict("records")}


def current(db) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT reporter, version, file_name FROM current_submissions "
                           "WHERE country = 'IT' AND quarter = '2022-Q3' ORDER BY 1").fetchall()


def sheet(reg, sheet_id):
    return reg.sheet(sheet_id).label("it")


@pytest.mark.parametrize("first", [ACTIONAID, REGIONE])
def test_two_organisations_in_either_order_count_as_one_workbook_would(reg, demo_dir, demo_db, it_db,
                                                                      tmp_path, first):
    other = REGIONE if first == ACTIONAID else ACTIONAID
    files = in_order(copied(demo_dir / first, tmp_path / "in" / first),
                     copied(demo_dir / other, tmp_path / "in" / other))
    outcomes = ingest.ingest(files, reg, it_db)
    assert [(o.status, o.organisation, o.version) for o in outcomes] == [
        ("accepted", "ActionAid Italia" if first == ACTIONAID else "Regione Campania", 1),
        ("accepted", "Regione Campania" if first == ACTIONAID else "ActionAid Italia", 1)]
    assert not [f for o in outcomes for f in o.findings if f.rule in ("status_conflict", "reported_by_other")]
    assert italy(it_db, reg) == italy(demo_db, reg)  # the demo database: every file, in the demo's order
    assert italy(it_db, reg)["authorities_supporting"] == 0 and italy(it_db, reg)["migrants_reached"] > 0
    assert [r[:2] for r in current(it_db)] == [("ActionAid Italia", 1), ("Regione Campania", 1)]


@pytest.mark.parametrize("corrected", [ACTIONAID, REGIONE])
def test_a_correction_supersedes_only_its_organisations_version(reg, demo_dir, it_db, tmp_path, corrected):
    files = in_order(copied(demo_dir / ACTIONAID, tmp_path / ACTIONAID),
                     copied(demo_dir / REGIONE, tmp_path / REGIONE))
    ingest.ingest(files, reg, it_db)
    before = italy(it_db, reg)
    outreach = sheet(reg, "outreach")
    fixed = edited(demo_dir / corrected, tmp_path / "v2" / corrected, {(outreach, "D3"): 1000})
    old_value = load_workbook(demo_dir / corrected)[outreach]["D3"].value
    in_order(*files, fixed)
    [outcome] = ingest.ingest([fixed], reg, it_db)
    assert (outcome.status, outcome.version) == ("accepted", 2)
    assert italy(it_db, reg)["migrants_reached"] == before["migrants_reached"] - old_value + 1000
    versions = {reporter: version for reporter, version, _ in current(it_db)}
    organisation = "ActionAid Italia" if corrected == ACTIONAID else "Regione Campania"
    assert versions == {"ActionAid Italia": 1, "Regione Campania": 1, organisation: 2}
    history = json.loads(mvh("history", "--country", "IT", "--quarter", "2022-Q3", "--json",
                             db=it_db).stdout)["versions"]
    assert [(v["organisation"], v["version"]) for v in history] == [
        ("ActionAid Italia", 1), *([("ActionAid Italia", 2)] if corrected == ACTIONAID else []),
        ("Regione Campania", 1), *([("Regione Campania", 2)] if corrected == REGIONE else [])]
    [second] = [v for v in history if v["version"] == 2]
    assert [(c["sheet"], c["cell"], c["field"]) for c in second["changed_cells"]] == [
        (outreach, "D3", "migrants_reached")]
    effect = {(e["kpi"], e["country"]): e["change"] for e in second["kpi_effect"]}
    assert effect[("migrants_reached", "IT")] == 1000 - old_value


def test_an_entity_is_one_per_country_and_conflicting_statuses_are_a_warning(reg, demo_dir, it_db, tmp_path):
    councils = sheet(reg, "councils")
    ingest.ingest(in_order(copied(demo_dir / ACTIONAID, tmp_path / ACTIONAID)), reg, it_db)
    # Regione Campania also reports the council, retyped in lower case, with another status
    regione = edited(demo_dir / REGIONE, tmp_path / REGIONE, {
        (councils, "A3"): " it-c1", (councils, "B3"): "Migrant council of Campania",
        (councils, "C3"): "Campania (Naples)", (councils, "D3"): "Regionale",
        (councils, "E3"): "Rafforzare un consiglio esistente", (councils, "F3"): "Rafforzato",
        (councils, "G3"): "15/08/2022", (councils, "H3"): 20, (councils, "I3"): 8, (councils, "J3"): 1,
        (councils, "K3"): 0, (councils, "L3"): 0, (councils, "M3"): "Minutes"})
    in_order(tmp_path / ACTIONAID, regione)
    [outcome] = ingest.ingest([regione], reg, it_db)
    assert outcome.status == "accepted"
    [conflict] = [f for f in outcome.findings if f.rule == "status_conflict"]
    assert (conflict.severity, conflict.sheet, conflict.cell) == ("warning", councils, "F3")
    assert "ActionAid Italia" in conflict.message and "in_preparation" in conflict.message
    values = italy(it_db, reg)
    assert values["councils_strengthened"] == 1  # one council, its status the latest received
    with duckdb.connect(str(it_db), read_only=True) as con:
        rows = provenance.rows(con, reg, "councils_strengthened", "2022-Q3", "IT")
    assert rows[["record", "organisation", "cell"]].values.tolist() == [["IT-C1", "Regione Campania", "F3"]]


def test_the_same_activity_id_from_two_organisations_is_a_warning(reg, demo_dir, it_db, tmp_path):
    activities = sheet(reg, "activities")
    ingest.ingest(in_order(copied(demo_dir / ACTIONAID, tmp_path / ACTIONAID)), reg, it_db)
    twice = edited(demo_dir / REGIONE, tmp_path / REGIONE, {(activities, "A3"): "it-22q3-01 "})
    in_order(tmp_path / ACTIONAID, twice)
    [outcome] = ingest.ingest([twice], reg, it_db)
    assert outcome.status == "accepted"
    [twin] = [f for f in outcome.findings if f.rule == "reported_by_other"]
    assert (twin.severity, twin.cell) == ("warning", "A3")
    assert "ActionAid Italia" in twin.message and "2022-Q3" in twin.message


def test_ids_retyped_in_another_case_are_one_entity(reg, demo_dir, it_db, tmp_path):
    """A council typed ' it-c1' one quarter and IT-C1 the next is one council, shown as first
    typed; an authority's reference retyped in another case still finds it."""
    councils, authorities = sheet(reg, "councils"), sheet(reg, "authorities")
    strengthened = {(councils, "F3"): "Rafforzato"}
    retyped = edited(demo_dir / ACTIONAID, tmp_path / ACTIONAID, {**strengthened, (councils, "A3"): " it-c1"})
    regione = edited(demo_dir / REGIONE, tmp_path / REGIONE, {(authorities, "A3"): "It-A1",
                                                             (authorities, "D3"): "IT-c1"})
    next_one = edited(demo_dir / "IT_2022-Q4.xlsx", tmp_path / "IT_2022-Q4.xlsx", strengthened)
    outcomes = ingest.ingest(in_order(retyped, regione, next_one), reg, it_db)
    assert [o.status for o in outcomes] == ["accepted"] * 3
    assert not [f for o in outcomes for f in o.findings if f.rule == "unknown_reference"]
    assert italy(it_db, reg, "2022-Q4")["councils_strengthened"] == 1
    with duckdb.connect(str(it_db), read_only=True) as con:
        shown = provenance.sheet_rows(con, reg, "councils", "status", "2022-Q4", "IT")
        counted = provenance.rows(con, reg, "councils_strengthened", "2022-Q4", "IT")
    assert set(shown["record"]) == {"IT-C1"}  # every quarter's row under the id as first typed
    assert counted[["quarter", "record"]].values.tolist() == [["2022-Q4", "IT-C1"]]


def test_a_partner_sends_only_its_own_organisations_workbook(reg, demo_dir, it_db, tmp_path):
    [outcome] = ingest.ingest([copied(demo_dir / REGIONE, tmp_path / REGIONE)], reg, it_db,
                              uploaded_by="partner-it", uploader_country="IT",
                              uploader_organisation="actionaid italia")
    assert outcome.status == "rejected"
    [refused] = outcome.findings
    assert (refused.rule, refused.cell, refused.value) == ("uploader_organisation", "B5", "Regione Campania")
    [own] = ingest.ingest([copied(demo_dir / ACTIONAID, tmp_path / ACTIONAID)], reg, it_db,
                          uploaded_by="partner-it", uploader_country="IT",
                          uploader_organisation="ActionAid Italia")
    assert own.status == "accepted"


def test_partner_accounts_of_a_country_reporting_per_organisation_name_it(reg, tmp_path):
    with using(tmp_path / "mvh.duckdb"):
        with pytest.raises(accounts.AccountError, match="--organisation"):
            accounts.add("rosa", "partner", PASSWORD, "IT", reg)
        with pytest.raises(accounts.AccountError, match="not a partner organisation of IT"):
            accounts.add("rosa", "partner", PASSWORD, "IT", reg, "KMOP")
        user = accounts.add("rosa", "partner", PASSWORD, "IT", reg, "regione campania")
        assert (user.organisation, accounts.get("rosa").organisation) == ("Regione Campania",) * 2
        assert accounts.add("ana", "partner", PASSWORD, "RO", reg).organisation is None


def test_a_register_file_names_its_organisation_when_several_report(reg, demo_dir, it_db, tmp_path):
    ingest.ingest(in_order(copied(demo_dir / ACTIONAID, tmp_path / ACTIONAID),
                           copied(demo_dir / REGIONE, tmp_path / REGIONE)), reg, it_db)
    spec = reg.participant_register.sheet
    register = tmp_path / "r" / "IT_2022-Q3_register.csv"
    register.parent.mkdir()
    register.write_text(",".join(f.label("it") for f in spec.fields) + "\n"
                        "P1,IT-22Q3-01,11/08/2022,female,18_60,yes\n", encoding="utf-8")
    [outcome] = ingest.ingest([register], reg, it_db)
    assert outcome.status == "rejected"
    assert [f.rule for f in outcome.findings] == ["register_organisation"]
    assert "ActionAid Italia, Regione Campania" in outcome.findings[0].message


def test_a_register_names_its_activities_in_any_letter_case(reg, demo_dir, db_path, tmp_path):
    source = (demo_dir / "AT_2022-Q3_register.csv").read_text(encoding="utf-8").splitlines()
    ids = {line.split(",")[1] for line in source[1:]}
    retyped = [source[0], *(",".join(v.lower() + " " if i == 1 else v for i, v in enumerate(row.split(",")))
                            for row in source[1:])]
    register = tmp_path / "AT_2022-Q3_register.csv"
    register.write_text("\n".join(retyped) + "\n", encoding="utf-8")
    assert {line.split(",")[1] for line in retyped[1:]}.isdisjoint(ids)
    workbook = copied(demo_dir / "AT_2022-Q3.xlsx", tmp_path / "AT_2022-Q3.xlsx")
    book, carried = ingest.ingest(in_order(workbook, register), reg, db_path)
    # every row's activity found, and each activity's people agreeing with the Activities sheet
    assert (book.status, carried.status, carried.findings) == ("accepted", "accepted", [])

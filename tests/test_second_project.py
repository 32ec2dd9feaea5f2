"""A second project, Civic Spaces for Youth (tests/projects/civic_spaces/indicators.yaml), run from
end to end through the `mvh` command and the dashboard, as its coordination would run it.

It shares nothing with Migrant Voices Heard but the shape: three other countries, English only,
other dates, other sheets (a front sheet, hubs and networks as entities, sessions and
publications as flows), other statuses and KPIs, no participant register and no outreach sheet.
The workbooks are made from the project's own template (tests/projects/workbooks.py) with the
plan below; every KPI value asserted is worked out by hand from that plan (see EXPECTED).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipelines.declaration import registry
from tests.conftest import DRAWN, ROOT, SOFFICE, _watched, need
from tests.dash_client import PASSWORD, free_port, running
from tests.projects import workbooks

DECLARATION = ROOT / "tests" / "projects" / "civic_spaces" / "indicators.yaml"
Q1, Q2, Q3 = "2024-Q1", "2024-Q2", "2024-Q3"
COUNTRIES = ("PT", "IE", "SI")
KPIS = ("hubs_opened", "networks_active", "young_people_trained", "toolkit_downloads")
MVH_WORDS = ("Councils", "Authorities", "Activities", "Outreach", "Unique participants",
             "migrants_reached", "AMIF")


# ---- the plan: what each partner reports ---------------------------------------------------
def hub(hub_id: str, stage: str, **more) -> dict:
    return {"hub_id": hub_id, "stage": stage, "hub_type": "youth_centre", **more}


def network(network_id: str, reach: str, status: str, **more) -> dict:
    return {"network_id": network_id, "reach": reach, "network_status": status, "members": 12,
            "members_under_30": 9, **more}


def session(session_id: str, hub_id: str, attendees: int, **more) -> dict:
    return {"session_id": session_id, "hub_id": hub_id, "attendees": attendees,
            "delivery": "workshop", "facilitators": 2, **more}


def publication(publication_id: str, downloads: int, **more) -> dict:
    return {"publication_id": publication_id, "downloads": downloads, "kind": "toolkit", **more}


# internal remarks, addressed to the coordination: never in the EU export
REMARK = "Building under repair until October"
NOTE = "Call Rita on 912 345 678 about the Q3 figures"
PLAN = {
    ("PT", Q1): {"front": {"contact_person": "Rita Sousa"},
                 "hubs": [hub("PT-H1", "agreed"), hub("PT-H2", "scouting", hub_type="school")],
                 "networks": [network("PT-N1", "national", "forming", hub_id="PT-H1")],
                 "sessions": [session("PT-24Q1-S1", "PT-H1", 30)],
                 "publications": [publication("PT-P1", 120)]},
    ("PT", Q2): {"hubs": [hub("PT-H1", "open", volunteers=8, opening_hours=120),
                          hub("PT-H2", "agreed", hub_type="school")],
                 "networks": [network("PT-N1", "national", "active", hub_id="PT-H1"),
                              network("PT-N2", "local", "active")],  # local: does not count
                 "sessions": [session("PT-24Q2-S1", "PT-H1", 60, aged_under_18=20, aged_18_29=30,
                                      aged_30_plus=10),
                              session("PT-24Q2-S2", "PT-H1", 40, delivery="debate")]},
    # PT-H1 is not reported in Q3: it counts with its latest status, open in Q2
    ("PT", Q3): {"front": {"remarks_for_coordination": NOTE},
                 "hubs": [hub("PT-H2", "open", hub_type="school"), hub("PT-H3", "scouting")],
                 "networks": [network("PT-N1", "national", "active", hub_id="PT-H1"),
                              network("PT-N2", "local", "active")],
                 "sessions": [session("PT-24Q3-S1", "PT-H2", 80)],
                 "publications": [publication("PT-P1", 50)]},
    # no network in Q1: an empty table sheet
    ("IE", Q1): {"hubs": [hub("IE-H1", "open", hub_type="library")],
                 "sessions": [session("IE-24Q1-S1", "IE-H1", 25)]},
    ("IE", Q2): {"hubs": [hub("IE-H1", "open", hub_type="library"), hub("IE-H2", "agreed")],
                 "networks": [network("IE-N1", "european", "forming")],
                 "sessions": [session("IE-24Q2-S1", "IE-H1", 50, delivery="mentoring")],
                 "publications": [publication("IE-P1", 300, kind="policy_brief")]},
    ("IE", Q3): {"hubs": [hub("IE-H1", "paused", hub_type="library", remarks=REMARK),
                          hub("IE-H2", "open")],
                 "networks": [network("IE-N1", "european", "active")],
                 "sessions": [session("IE-24Q3-S1", "IE-H2", 45),
                              session("IE-24Q3-S2", "IE-H2", 35, delivery="online")]},
    ("SI", Q1): {"hubs": [hub("SI-H1", "scouting", hub_type="online")],
                 "networks": [network("SI-N1", "european", "active")],  # SI has no share of it
                 "sessions": [session("SI-24Q1-S1", "SI-H1", 10, delivery="online")]},
    # SI sends nothing for 2024-Q2
    ("SI", Q3): {"hubs": [hub("SI-H1", "open", hub_type="online")],
                 "networks": [network("SI-N1", "european", "dormant",
                                      notes="Its coordinator left; a new one starts in Q4")],
                 "sessions": [session("SI-24Q3-S1", "SI-H1", 40, delivery="online")],
                 "publications": [publication("SI-P1", 80, kind="video")]},
}
# The correction: PT sends 2024-Q3 again, PT-H3 now open and the session had 170 attendees.
CORRECTION = {**PLAN[("PT", Q3)],
              "hubs": [hub("PT-H2", "open", hub_type="school"), hub("PT-H3", "open")],
              "sessions": [session("PT-24Q3-S1", "PT-H2", 170)]}


# ---- the KPIs of the plan, by hand ---------------------------------------------------------
# (value, target, percent, planned, status) per KPI and country (None: the project).
# Stocks: an entity's latest status up to the as-of quarter; a country's planned stock is its
# target x the trajectory's share, rounded down. Flows: summed over the quarters.
# hubs_opened: target 6 (2 each), trajectory Q2 1, Q3 3.
# networks_active: national or European and active; target 3 (PT 2, IE 1, SI 0), trajectory
#   Q2 1, Q3 2. young_people_trained: target 1200 (500/400/300), trajectory Q2 300, Q3 500.
EXPECTED = {
    # as of 2024-Q2: hubs PT-H1, IE-H1; networks PT-N1, SI-N1 (from Q1); attendees PT 30+100,
    # IE 25+50, SI 10; downloads PT 120, IE 300
    (Q2, 1): {
        ("hubs_opened", None): (2, 6, 33.3, 1, "on_track"),
        ("hubs_opened", "PT"): (1, 2, 50.0, 0, "on_track"),
        ("hubs_opened", "IE"): (1, 2, 50.0, 0, "on_track"),
        ("hubs_opened", "SI"): (0, 2, 0.0, 0, "on_track"),
        ("networks_active", None): (2, 3, 66.7, 1, "on_track"),
        ("networks_active", "PT"): (1, 2, 50.0, 0, "on_track"),
        ("networks_active", "IE"): (0, 1, 0.0, 0, "on_track"),
        ("networks_active", "SI"): (1, 0, None, 0, "no_target"),
        ("young_people_trained", None): (215, 1200, 17.9, 300, "off_track"),
        ("young_people_trained", "PT"): (130, 500, 26.0, 125, "on_track"),
        ("young_people_trained", "IE"): (75, 400, 18.8, 100, "off_track"),
        ("young_people_trained", "SI"): (10, 300, 3.3, 75, "off_track"),
        ("toolkit_downloads", None): (420, None, None, None, "no_target"),
        ("toolkit_downloads", "PT"): (120, None, None, None, "no_target"),
        ("toolkit_downloads", "IE"): (300, None, None, None, "no_target"),
        ("toolkit_downloads", "SI"): (0, None, None, None, "no_target"),
    },
    # as of 2024-Q3, version 1 of PT 2024-Q3: hubs PT-H1 (Q2), PT-H2, IE-H2, SI-H1 (IE-H1
    # paused); networks PT-N1, IE-N1 (SI-N1 dormant); attendees PT 210, IE 155, SI 50
    (Q3, 1): {
        ("hubs_opened", None): (4, 6, 66.7, 3, "on_track"),
        ("hubs_opened", "PT"): (2, 2, 100.0, 1, "achieved"),
        ("hubs_opened", "IE"): (1, 2, 50.0, 1, "on_track"),
        ("hubs_opened", "SI"): (1, 2, 50.0, 1, "on_track"),
        ("networks_active", None): (2, 3, 66.7, 2, "on_track"),
        ("networks_active", "PT"): (1, 2, 50.0, 1, "on_track"),
        ("networks_active", "IE"): (1, 1, 100.0, 0, "achieved"),
        ("networks_active", "SI"): (0, 0, None, 0, "no_target"),
        ("young_people_trained", None): (415, 1200, 34.6, 500, "at_risk"),
        ("young_people_trained", "PT"): (210, 500, 42.0, 500 * 500 / 1200, "on_track"),
        ("young_people_trained", "IE"): (155, 400, 38.8, 400 * 500 / 1200, "at_risk"),
        ("young_people_trained", "SI"): (50, 300, 16.7, 125, "off_track"),
        ("toolkit_downloads", None): (550, None, None, None, "no_target"),
        ("toolkit_downloads", "PT"): (170, None, None, None, "no_target"),
        ("toolkit_downloads", "IE"): (300, None, None, None, "no_target"),
        ("toolkit_downloads", "SI"): (80, None, None, None, "no_target"),
    },
}
# version 2 of PT 2024-Q3: PT-H3 open, 170 attendees instead of 80
EXPECTED[(Q3, 2)] = {**EXPECTED[(Q3, 1)],
                     ("hubs_opened", None): (5, 6, 83.3, 3, "on_track"),
                     ("hubs_opened", "PT"): (3, 2, 150.0, 1, "achieved"),
                     ("young_people_trained", None): (505, 1200, 42.1, 500, "on_track"),
                     ("young_people_trained", "PT"): (300, 500, 60.0, 500 * 500 / 1200, "on_track")}
EXPECTED[(Q2, 2)] = EXPECTED[(Q2, 1)]  # a correction of Q3 leaves Q2 as it was


# ---- running the monitor on the project ----------------------------------------------------
def env(db: Path | None = None) -> dict:
    return {**os.environ, "MVH_INDICATORS": str(DECLARATION), "MVH_PASSWORD": PASSWORD,
            **({"MVH_DB": str(db)} if db else {})}


def csy(*args: str, db: Path | None = None, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """The `mvh` command on the second project, as its coordination would run it."""
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                            text=True, env=env(db), cwd=ROOT, timeout=600)
    assert result.returncode in ok, (f"mvh {' '.join(args)} exited {result.returncode}:\n"
                                     f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result


def kpis(db: Path, as_of: str) -> dict[tuple[str, str | None], dict]:
    report = json.loads(csy("kpis", "--json", "--as-of", as_of, db=db).stdout)
    assert report["as_of"] == as_of
    return {(k["id"], k["country"]): k for k in report["kpis"]}


def assert_kpis(found: dict, expected: dict) -> None:
    assert set(found) == set(expected), "one row per KPI and per country, and the project's"
    wrong = {}
    for key, (value, target, percent, planned, status) in expected.items():
        row = found[key]
        got = (row["value"], row["target"], row["percent"], row["planned"], row["status"])
        want = (value, target, percent, planned, status)
        same_plan = (got[3] is None) == (planned is None) and (
            planned is None or abs(got[3] - planned) < 0.01)
        if got[:3] + got[4:] != want[:3] + want[4:] or not same_plan:
            wrong[key] = {"found": got, "expected": want}
    assert not wrong, json.dumps({f"{k[0]} {k[1] or 'all'}": v for k, v in wrong.items()},
                                 indent=1)


@pytest.fixture(scope="module")
def csy_reg() -> registry.Registry:
    """The second project's declaration, loaded as the monitor loads it."""
    return registry.load(DECLARATION)


@pytest.fixture(scope="module")
def area(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("civic_spaces")


@pytest.fixture(scope="module")
def blank_pt_q1(area) -> Path:
    """The template of PT 2024-Q1, from `mvh template`."""
    path = area / "templates" / "CSY_PT_2024-Q1.xlsx"
    out = csy("template", "--country", "PT", "--quarter", Q1, "-o", str(path))
    assert path.exists(), out.stdout
    return path


@pytest.fixture(scope="module")
def inbox(area, csy_reg, blank_pt_q1) -> Path:
    """The partners' eight workbooks of 2024-Q1..Q3, in one folder: PT 2024-Q1 filled in the
    template `mvh template` wrote, IE 2024-Q2 saved again by LibreOffice."""
    soffice = need(SOFFICE, "LibreOffice")
    folder = area / "inbox"
    for (country, quarter), plan in PLAN.items():
        name = f"CSY_{country}_{quarter}.xlsx"
        source = blank_pt_q1 if (country, quarter) == ("PT", Q1) else None
        if (country, quarter) == ("IE", Q2):
            made = workbooks.write(area / "openpyxl" / name, csy_reg, country, quarter, plan)
            workbooks.resaved(soffice, made, folder / name, area / "lo")
        else:
            workbooks.write(folder / name, csy_reg, country, quarter, plan, template_file=source)
    return folder


@pytest.fixture(scope="module")
def db(area) -> Path:
    return area / "data" / "csy.duckdb"


@pytest.fixture(scope="module")
def ingested(inbox, db) -> subprocess.CompletedProcess:
    """`mvh ingest` of the folder, into a new database."""
    return csy("ingest", str(inbox), db=db, ok=(0, 1))


@pytest.fixture(scope="module")
def corrected(ingested, area, csy_reg, db) -> tuple[subprocess.CompletedProcess, dict]:
    """The KPIs as of 2024-Q2 and 2024-Q3 before the correction, then `mvh ingest` of PT 2024-Q3
    v2: (its outcome, the KPIs before)."""
    before = {q: kpis(db, q) for q in (Q2, Q3)}
    path = workbooks.write(area / "corrections" / "CSY_PT_2024-Q3_v2.xlsx", csy_reg, "PT", Q3,
                           CORRECTION)
    result = csy("ingest", str(path), db=db, ok=(0, 1))
    return result, before


# ---- the template ---------------------------------------------------------------------------
def test_the_template_is_the_projects_own(blank_pt_q1, csy_reg):
    wb = load_workbook(blank_pt_q1)
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["How to report", "Front sheet", "Hubs", "Networks", "Sessions",
                       "Publications"]
    assert wb["Front sheet"]["B3"].value == "PT" and wb["Front sheet"]["B4"].value == Q1
    header = [c.value for c in wb["Sessions"][2]]
    assert header[:6] == ["Session code", "Hub", "Topic", "Format", "Held on", "Attendees"]
    assert "Civic Spaces for Youth" in wb["How to report"]["A1"].value
    assert [ws.title for ws in wb.worksheets if any(w in ws.title for w in MVH_WORDS)] == []


def test_the_template_refuses_a_country_or_quarter_of_another_project(area):
    out = csy("template", "--country", "BG", "--quarter", Q1, "-o", str(area / "x.xlsx"), ok=(2,))
    assert "PT, IE, SI" in out.stdout
    out = csy("template", "--country", "PT", "--quarter", "2023-Q4", "-o", str(area / "y.xlsx"),
              ok=(2,))
    assert "2024-Q1 to 2025-Q2" in out.stdout


# ---- checking ---------------------------------------------------------------------------------
def check(path: Path, db: Path | None = None, ok=(0, 1)) -> tuple[int, list[dict]]:
    out = csy("check", str(path), "--json", "-o", str(path.with_suffix(".checked.xlsx")), db=db,
              ok=ok)
    return out.returncode, json.loads(out.stdout)["findings"]


def test_a_good_workbook_passes_the_check(inbox):
    code, findings = check(inbox / "CSY_PT_2024-Q2.xlsx")
    assert [f for f in findings if f["severity"] == "error"] == []
    assert code == 0


def test_a_workbook_saved_by_libreoffice_passes_the_check(inbox):
    code, findings = check(inbox / "CSY_IE_2024-Q2.xlsx")
    assert [(f["sheet"], f["cell"], f["rule"]) for f in findings] == []
    assert code == 0


@pytest.fixture(scope="module")
def bad(area, csy_reg) -> tuple[Path, dict]:
    """PT 2024-Q2 with four mistakes; returns the file and where each one is."""
    plan = {**PLAN[("PT", Q2)],
            "hubs": [hub("PT-H1", "demolished"), hub("PT-H2", "agreed")],
            "sessions": [session("PT-24Q2-S1", "PT-H1", 60, aged_under_18=20, aged_18_29=30,
                                 aged_30_plus=5),
                         session("PT-24Q2-S2", "PT-H9", 40, held_on="2024-07-15")]}
    path = workbooks.write(area / "bad" / "CSY_PT_2024-Q2_bad.xlsx", csy_reg, "PT", Q2, plan)
    wb = load_workbook(path)
    where = {
        "allowed": workbooks.cell_of(csy_reg, wb, "hubs", "stage", 1),
        "sum": workbooks.cell_of(csy_reg, wb, "sessions", "attendees", 1),
        "date_after_quarter": workbooks.cell_of(csy_reg, wb, "sessions", "held_on", 2),
        "unknown_reference": workbooks.cell_of(csy_reg, wb, "sessions", "hub_id", 2),
    }
    return path, where


def test_a_bad_workbook_is_refused_with_each_sheet_and_cell(bad):
    path, where = bad
    code, findings = check(path)
    assert code == 1
    found = {(f["rule"], f["sheet"], f["cell"]) for f in findings if f["severity"] == "error"}
    assert where == {"allowed": ("Hubs", "E3"), "sum": ("Sessions", "F3"),
                     "date_after_quarter": ("Sessions", "E4"),
                     "unknown_reference": ("Sessions", "B4")}
    assert {(rule, *cell) for rule, cell in where.items()} <= found, findings
    messages = {f["rule"]: f["message"] for f in findings}
    assert "demolished" in messages["allowed"]
    assert "Hub" in messages["unknown_reference"] and "PT-H9" in messages["unknown_reference"]


def test_the_front_sheet_is_checked_like_a_cover(area, csy_reg):
    """The form sheet (here `front`, not `cover`) gets the form checks: a partner of the country."""
    plan = {**PLAN[("PT", Q1)], "front": {"contact_person": "Rita Sousa",
                                         "partner": "Youth Voice Ireland"}}
    path = workbooks.write(area / "bad" / "CSY_PT_2024-Q1_partner.xlsx", csy_reg, "PT", Q1, plan)
    code, findings = check(path)
    sheet, cell = workbooks.cell_of(csy_reg, load_workbook(path), "front", "partner")
    assert (sheet, cell) == ("Front sheet", "B5")
    assert ("partner", sheet, cell) in {(f["rule"], f["sheet"], f["cell"]) for f in findings}, findings
    assert code == 1


# ---- ingest, KPIs and a correction ------------------------------------------------------------
def test_ingest_accepts_every_workbook(ingested):
    lines = [line for line in ingested.stdout.splitlines() if line.split()[:1] in (["accepted"],
                                                                                   ["rejected"])]
    assert len(lines) == len(PLAN), ingested.stdout + ingested.stderr[-4000:]
    assert all(line.startswith("accepted") for line in lines), ingested.stdout
    assert ingested.returncode == 0
    assert f"{len(PLAN)} file(s): {len(PLAN)} accepted, 0 rejected" in ingested.stdout


@pytest.mark.parametrize("as_of", [Q2, Q3])
def test_kpis_before_the_correction(corrected, as_of):
    _, before = corrected
    assert_kpis(before[as_of], EXPECTED[(as_of, 1)])


def test_the_correction_is_version_2(corrected):
    result, _ = corrected
    assert "accepted  PT 2024-Q3 v2 (supersedes v1)" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0


@pytest.mark.parametrize("as_of", [Q2, Q3])
def test_kpis_after_the_correction(corrected, db, as_of):
    assert_kpis(kpis(db, as_of), EXPECTED[(as_of, 2)])


def test_history_shows_what_the_correction_changed(corrected, db):
    report = json.loads(csy("history", "--country", "PT", "--quarter", Q3, "--json", db=db).stdout)
    assert [v["version"] for v in report["versions"]] == [1, 2]
    effect = {(e["kpi"], e["country"]): (e["before"], e["after"])
              for e in report["versions"][1]["kpi_effect"] if e["change"]}
    assert effect[("young_people_trained", None)] == (415, 505)
    assert effect[("hubs_opened", "PT")] == (2, 3)


def test_integrity(corrected, db):
    out = csy("integrity", "--deep", db=db)
    assert f"{len(PLAN) + 1} submission(s): whole" in out.stdout


# ---- the EU export -------------------------------------------------------------------------
PERIOD = f"{Q2}..{Q3}"
# the project's KPI summary for 2024-Q2..Q3 as of Q3 (after the correction): stocks at the
# period's end, flows over the period (as of Q3 minus as of Q1: attendees 505 - 65, downloads
# 550 - 120), cumulative values to Q3 and the countries' cumulative values
SUMMARY = {
    "hubs_opened": {"target": 6, "period": 5, "cumulative": 5, "status": "→ On course",
                    "PT": 3, "IE": 1, "SI": 1},
    "networks_active": {"target": 3, "period": 2, "cumulative": 2, "status": "→ On course",
                        "PT": 1, "IE": 1, "SI": 0},
    "young_people_trained": {"target": 1200, "period": 440, "cumulative": 505,
                             "status": "→ On course", "PT": 300, "IE": 155, "SI": 50},
    "toolkit_downloads": {"target": None, "period": 430, "cumulative": 550,
                          "status": "· Not targeted", "PT": 170, "IE": 300, "SI": 80},
}


def _number(value):
    if value in (None, ""):
        return None
    return float(value)


def summary_rows(rows: list[dict]) -> dict[str, dict]:
    found = {}
    for row in rows:
        found[row["KPI id"]] = {
            "target": _number(row["Target"]), "period": _number(row[f"Value {PERIOD}"]),
            "cumulative": _number(row[f"Cumulative to {Q3}"]), "status": row["Status"],
            **{c: _number(row[c]) for c in COUNTRIES}}
    return found


def expected_summary() -> dict:
    return {k: {n: (float(v) if isinstance(v, int) else v) for n, v in row.items()}
            for k, row in SUMMARY.items()}


@pytest.fixture(scope="module")
def pack_xlsx(corrected, area, db) -> Path:
    path = area / "export" / "CSY_pack.xlsx"
    csy("export", "--period", PERIOD, "--as-of", Q3, "--format", "xlsx", "-o", str(path), db=db)
    return path


def test_the_xlsx_export_has_the_kpi_summary(pack_xlsx):
    wb = load_workbook(pack_xlsx, read_only=True)
    ws = wb["KPI summary"]
    values = [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]
    header, body = list(values[0]), values[1:]
    rows = [dict(zip(header, r, strict=False)) for r in body if r[0] in SUMMARY]
    assert summary_rows(rows) == expected_summary()


def test_the_xlsx_export_is_the_projects_own(pack_xlsx):
    wb = load_workbook(pack_xlsx, read_only=True)
    assert {"README", "KPI summary", "ESF+ indicators", "Hubs", "Networks"} <= set(wb.sheetnames), \
        wb.sheetnames
    texts = " ".join(str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True)
                     for v in r if v is not None)
    assert "Civic Spaces for Youth" in texts
    assert [w for w in MVH_WORDS if w in wb.sheetnames] == []
    assert "Participants below 30 years of age" in texts
    assert REMARK not in texts and NOTE not in texts  # internal fields stay out of the pack
    assert "Rita Sousa" not in texts  # who reported, too


def test_the_csv_export_has_the_kpi_summary(corrected, area, db):
    path = area / "export" / "CSY_pack.zip"
    csy("export", "--period", PERIOD, "--as-of", Q3, "--format", "csv", "-o", str(path), db=db)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if "summary" in n.lower())
        text = archive.read(name).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["KPI id"] in SUMMARY]
    assert summary_rows(rows) == expected_summary()


# ---- the dashboard ---------------------------------------------------------------------------
@contextlib.contextmanager
def serve(db: Path):
    """`mvh serve` of the second project on a free port, with a manager and a partner of PT."""
    csy("users", "add", "manager", "--role", "manager", db=db, ok=(0, 1))
    csy("users", "add", "partner-pt", "--role", "partner", "--country", "PT", db=db, ok=(0, 1))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)], env(db),
                 url, ROOT):
        yield url


@pytest.fixture(scope="module")
def csy_url(corrected, db):
    with serve(db) as url:
        yield url


@pytest.fixture
def csy_page(browser, csy_url):
    """A laptop-sized page on the second project's dashboard, as its manager; the test fails on
    any error in the browser console."""
    yield from _watched(browser, csy_url, 1280, 900, mobile=False)


def opened(pg, url: str, where: str) -> None:
    """Open a page and wait until it is drawn (its heading, each chart's SVG); if it never is,
    fail with what the page shows instead."""
    pg.goto(url)
    try:
        pg.wait_for_function(DRAWN, timeout=30_000)
    except Exception as exc:
        no_failure(pg, where)
        raise AssertionError(f"{where} was not drawn: {pg.inner_text('body')[:1500]}") from exc
    pg.wait_for_timeout(300)  # the page's own callbacks


def no_failure(pg, where: str) -> None:
    body = pg.inner_text("body")
    assert "Something went wrong" not in body, where
    assert "Traceback" not in body and "Error loading layout" not in body, where
    assert pg.locator(".dash-fe-error__title, .dash-fe-error").count() == 0, where  # Dash's own


def figure(value) -> str:
    return f"{value:,.0f}"


@pytest.mark.browser
def test_the_overview_shows_the_projects_kpis(csy_page, csy_url):
    opened(csy_page, f"{csy_url}/?as_of={Q3}", "/")
    no_failure(csy_page, "/")
    truth = EXPECTED[(Q3, 2)]
    for kpi_id in KPIS:
        value = truth[(kpi_id, None)][0]
        assert csy_page.inner_text(f"#overview-value-{kpi_id}") == figure(value), kpi_id
    for kpi_id in ("hubs_opened", "networks_active", "young_people_trained"):
        value, target, _, _, status = truth[(kpi_id, None)]
        assert f"of {figure(target)}" in csy_page.inner_text(f"#overview-card-{kpi_id}")
        label = {"on_track": "On course", "at_risk": "Behind", "achieved": "Target met"}[status]
        assert label in csy_page.inner_text(f"#overview-status-{kpi_id}")
    # against the plan for the quarter, which its status judges; the full target below it
    assert csy_page.inner_text("#overview-grid-PT-young_people_trained").split("\n")[:2] == [
        "300 / 208 planned", "target 500"]
    assert "Target met" in csy_page.inner_text("#overview-grid-PT-hubs_opened")
    assert csy_page.inner_text("#overview-grid-SI-networks_active").split("\n")[0] == "no share"
    main = csy_page.inner_text("main")
    assert [w for w in MVH_WORDS if w in main] == []


@pytest.mark.browser
def test_every_page_opens_without_an_error(csy_page, csy_url):
    opened(csy_page, f"{csy_url}/?as_of={Q3}", "/")
    paths = [a.get_attribute("href") for a in csy_page.locator("nav a").all()]
    assert len(paths) >= 9 and "/" in paths, paths
    for path in paths:
        opened(csy_page, csy_url + path, path)
        no_failure(csy_page, path)
        assert "No data yet" not in csy_page.inner_text("main"), path


@pytest.mark.browser
@pytest.mark.parametrize("code", COUNTRIES)
def test_each_countrys_page(csy_page, csy_url, code):
    opened(csy_page, f"{csy_url}/countries?country={code}&as_of={Q3}", code)
    no_failure(csy_page, code)
    truth = EXPECTED[(Q3, 2)]
    for kpi_id in KPIS:
        shown = csy_page.inner_text(f"#countries-value-{kpi_id}")
        assert shown.replace(",", "").split()[0] == str(truth[(kpi_id, code)][0]), (kpi_id, shown)

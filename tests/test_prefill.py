"""A pre-filled template: the country's councils and authorities as last reported, ready to be
updated; the partner fills in only the quarter's flows, and the workbook loads and counts."""

from __future__ import annotations

import shutil

import duckdb
from openpyxl import load_workbook

from pipelines import ingest
from pipelines.declaration import template
from pipelines.intake import read
from pipelines.marts import carried, kpis
from tests.conftest import mvh

FLOWS = ("activities", "outreach")


def value(con, reg, kpi: str, as_of: str, country: str = "BG") -> float:
    frame = kpis.compute(con, reg, as_of)
    return frame.query("id == @kpi and country == @country")["value"].item()


def test_a_prefilled_template_needs_only_the_flows(reg, demo_db, demo_dir, tmp_path):
    db = tmp_path / "mvh.duckdb"
    shutil.copy(demo_db, db)
    made = tmp_path / "BG_2023-Q4.xlsx"
    out = mvh("template", "--country", "BG", "--quarter", "2023-Q4", "-o", str(made), db=db).stdout
    assert "councils: 1, authorities: 2 as last reported" in out
    with duckdb.connect(str(db), read_only=True) as con:
        expected = carried.entities(con, reg, "BG", "2023-Q4")
        before = {k: value(con, reg, k, "2023-Q3") for k in ("councils_established", "authorities_supporting",
                                                               "migrants_reached")}
    councils = load_workbook(made)[reg.sheet("councils").label("bg")]
    assert councils["A3"].value == expected["councils"][0]["council_id"] == "BG-C1"
    assert councils["J3"].value is None  # meetings this quarter: the quarter's own, never carried

    # the partner fills in the quarter's activities and outreach (here: the demo's) and the cover
    demo = read.read(demo_dir / "BG_2023-Q4.xlsx", reg)
    flows = {s: demo.sheets[s].frame[[f.id for f in reg.sheet(s).fields]].to_dict("records") for s in FLOWS}
    wb = template.fill(load_workbook(made), reg, "bg", demo.cover, flows)
    wb.save(made)
    [outcome] = ingest.ingest([made], reg, db)
    assert (outcome.status, outcome.version) == ("accepted", 2), outcome.findings
    reached = sum(r["migrants_reached"] for r in flows["outreach"])
    with duckdb.connect(str(db), read_only=True) as con:
        assert value(con, reg, "councils_established", "2023-Q4") == before["councils_established"]
        assert value(con, reg, "authorities_supporting", "2023-Q4") == before["authorities_supporting"]
        assert value(con, reg, "migrants_reached", "2023-Q4") == before["migrants_reached"] + reached


def test_blank_and_first_quarter_templates_carry_nothing(reg, demo_db, tmp_path):
    blank = tmp_path / "blank.xlsx"
    out = mvh("template", "--country", "BG", "--quarter", "2023-Q4", "--blank", "-o", str(blank),
              db=demo_db).stdout
    assert "as last reported" not in out
    assert load_workbook(blank)[reg.sheet("councils").label("bg")]["A3"].value is None
    with duckdb.connect(str(demo_db), read_only=True) as con:
        assert carried.entities(con, reg, "BG", reg.quarters[0]) == {}
        italy = carried.entities(con, reg, "IT", "2023-Q2", "Regione Campania")
    assert italy["councils"] == [] and italy["authorities"]  # only that organisation's own

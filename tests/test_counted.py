"""One rule, one figure: for every KPI x country x quarter of the demo project, the KPI's value,
the sum of its provenance rows, the export's figure and the dashboard's figure are the same; and
no code but the declaration and the demo generator names the project's sheets, fields or KPIs."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from dashboard import data
from pipelines.export import pack
from pipelines.marts import kpis, people, provenance

ROOT = Path(__file__).resolve().parent.parent
# The monitor's own vocabulary, which the demo project happens to use as ids too: the cover's
# fields and roles, the kinds of count, field types and its generic column names.
MONITOR_WORDS = {"country", "quarter", "partner", "reported_by", "submitted_on", "notes",
                 "unique_participants", "participations", "register", "status", "date", "name",
                 "title", "description"}  # "description": also a KPI's own text in the declaration


@pytest.fixture(scope="module")
def con(demo_db):
    connection = duckdb.connect(str(demo_db), read_only=True)
    yield connection
    connection.close()


def test_every_figure_of_every_kpi_country_and_quarter_agrees(con, reg, demo_db, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(demo_db))
    compared = 0
    for quarter in reg.quarters:
        values = kpis.compute(con, reg, quarter).set_index(["id", "country"], drop=False)
        shown = data.kpis_at(quarter).set_index(["id", "country"], drop=False)
        summary = pack.kpi_summary(pack.Scope(con, reg, pack.Period(quarter, quarter), quarter))
        exported = summary.frame.set_index("KPI id")
        for kpi in reg.kpis:
            rows = provenance.rows(con, reg, kpi.id, quarter)
            for country in [None, *(c.code for c in reg.countries)]:
                value = values.loc[(kpi.id, country), "value"]
                mine = rows if country is None else rows[rows["country"] == country]
                assert mine["counts"].sum() == value, (kpi.id, country, quarter)
                assert shown.loc[(kpi.id, country), "value"] == value
                column = f"Cumulative to {quarter}" if country is None else country
                if kpi.source.register_count and country and country not in people.collected(con, quarter):
                    assert (exported.loc[kpi.id, column], value) == ("not collected", 0)  # no register
                else:
                    assert exported.loc[kpi.id, column] == value, (kpi.id, country, quarter)
                compared += 1
    assert compared == len(reg.quarters) * len(reg.kpis) * (len(reg.countries) + 1) == 432


def test_no_code_names_the_projects_sheets_fields_or_kpis(reg):
    """Only indicators.yaml and the demo data generator know Migrant Voices Heard: a quoted id
    of one of its sheets, fields, KPIs or entity kinds anywhere else in the code is a defect."""
    ids = {s.id for s in reg.all_sheets} | {k.id for k in reg.kpis} | set(reg.entities)
    ids |= {f.id for s in reg.all_sheets for f in s.fields}
    ids -= MONITOR_WORDS
    quoted = re.compile(r"""["']({})["']""".format("|".join(sorted(ids))))
    found = []
    for path in [*ROOT.glob("pipelines/**/*.py"), *ROOT.glob("dashboard/**/*.py")]:
        if path.name == "demo_data.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if quoted.search(line.split("#")[0]):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []

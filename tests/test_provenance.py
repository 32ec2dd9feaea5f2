"""The rows behind a KPI value: they add up to the KPI, point at the right cells, follow versions."""

from __future__ import annotations

import duckdb
import pytest
from openpyxl import load_workbook

from pipelines import ingest
from pipelines.marts import kpis, provenance
from tests.workbooks import edited


@pytest.fixture(scope="module")
def con(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as connection:
        yield connection


@pytest.mark.parametrize("as_of", ["2022-Q2", "2023-Q1", "2023-Q4"])
def test_the_rows_add_up_to_every_kpi_value(con, reg, as_of):
    values = kpis.compute(con, reg, as_of)
    assert len(values) == len(reg.kpis) * (len(reg.countries) + 1)
    for row in values.itertuples():
        country = row.country if isinstance(row.country, str) else None
        rows = provenance.rows(con, reg, row.id, as_of, country)
        assert rows["counts"].sum() == row.value, (row.id, country, as_of)
        assert list(rows.columns) == provenance.COLUMNS


def test_a_stock_lists_each_entity_once_by_its_latest_status(con, reg):
    rows = provenance.rows(con, reg, "councils_established", "2023-Q4")
    assert list(rows["record"]) == ["BG-C1", "FR-C1", "GR-C1", "HU-C1", "RO-C1"]
    assert set(rows["quarter"]) == {"2023-Q4"} and set(rows["value"]) == {"active"}
    assert list(rows["counts"]) == [1] * 5
    # HU's council was established in 2023-Q1: as of 2022-Q4 it does not count yet
    assert "HU-C1" not in set(provenance.rows(con, reg, "councils_established", "2022-Q4")["record"])
    national = provenance.rows(con, reg, "authorities_supporting", "2023-Q4", "BG")
    assert list(national["record"]) == ["BG-A1"]  # the ministry (BG-A2) supports but is national


def test_each_row_leads_to_its_cell_in_the_stored_file(con, reg):
    rows = provenance.rows(con, reg, "migrants_reached", "2023-Q2", "GR")
    assert len(rows) > 0 and set(rows["file_name"]) == {f"GR_{q}.xlsx" for q in rows["quarter"]}
    books = {}
    for row in rows.itertuples():
        book = books.setdefault(row.stored_path, load_workbook(row.stored_path, read_only=True))
        assert row.sheet == reg.sheet("outreach").label("el")
        assert book[row.sheet][row.cell].value == row.value, row.cell
    stock = provenance.rows(con, reg, "councils_strengthened", "2023-Q4")
    assert list(stock["record"]) == ["AT-C1", "IT-C1"]
    for row in stock.itertuples():
        shown = load_workbook(row.stored_path, read_only=True)[row.sheet][row.cell].value
        assert shown in reg.code_lists["council_status"][row.value].values()  # in any language


def test_sheet_rows_carry_every_field_and_the_cell_of_one(con, reg):
    rows = provenance.sheet_rows(con, reg, "activities", "participants_total", "2023-Q4", "BG")
    value = kpis.compute(con, reg, "2023-Q4").query("id == 'direct_participants' and country == 'BG'")
    assert rows["participants_total"].sum() == value["value"].iloc[0]
    assert {"female", "age_under_18", "file_name", "version", "sheet", "cell"} <= set(rows.columns)
    assert rows["cell"].str.rstrip("0123456789").nunique() == 1  # the column of participants_total
    assert list(rows["cell"].str.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").astype(int)) == list(rows["source_row"])


def test_each_row_carries_the_partners_note(con, reg):
    """A row's note is the notes of its workbook's cover (Romania's late 2023-Q1 report says why)."""
    rows = provenance.rows(con, reg, "migrants_reached", "2023-Q1", "RO")
    late = rows[rows["quarter"] == "2023-Q1"]
    assert len(late) and set(late["notes"]) == {"Report sent late: council elections delayed our data."}
    assert set(rows[rows["quarter"] < "2023-Q1"]["notes"]) == {""}


def test_unknown_quarters_and_countries_are_refused_with_the_known_ones(con, reg):
    with pytest.raises(ValueError, match="outside the project period"):
        provenance.rows(con, reg, "migrants_reached", "2025-Q1")
    with pytest.raises(KeyError, match="AT, BG"):
        provenance.rows(con, reg, "migrants_reached", "2023-Q1", "XX")


def test_only_the_current_version_counts(tmp_path, reg, demo_dir):
    """A corrected workbook supersedes the first: its rows are listed, the first's are not."""
    sheet = reg.sheet("outreach").label("el")
    first = demo_dir / "GR_2023-Q2.xlsx"
    corrected = edited(first, tmp_path / "GR_2023-Q2_corrected.xlsx", {(sheet, "D3"): 3100})
    db = tmp_path / "mvh.duckdb"
    outcomes = ingest.ingest([first], reg, db) + ingest.ingest([corrected], reg, db)
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = provenance.rows(con, reg, "migrants_reached", "2023-Q2", "GR")
        assert set(rows["version"]) == {2} and set(rows["file_name"]) == {corrected.name}
        assert rows.set_index("cell").loc["D3", "value"] == 3100
        assert rows["counts"].sum() == kpis.compute(con, reg, "2023-Q2").query(
            "id == 'migrants_reached' and country == 'GR'")["value"].iloc[0]
        # as before the correction, with the relation kpis.compute takes for that
        con.execute("CREATE TEMP VIEW first_versions AS SELECT * FROM submissions WHERE version = 1")
        before = provenance.rows(con, reg, "migrants_reached", "2023-Q2", "GR", "first_versions")
        assert set(before["file_name"]) == {first.name}
        assert before.set_index("cell").loc["D3", "value"] == 2989
        assert before["counts"].sum() == kpis.compute(con, reg, "2023-Q2", "first_versions").query(
            "id == 'migrants_reached' and country == 'GR'")["value"].iloc[0]

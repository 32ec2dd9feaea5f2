"""The dashboard's table builders and downloads, without a browser, on the demo data."""

from __future__ import annotations

import datetime as dt
import io
import os

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboard import data, downloads, tables

TODAY = dt.date(2026, 1, 15)


@pytest.fixture(scope="module", autouse=True)
def demo(demo_db):
    """The dashboard's readers on the demo database."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MVH_DB", str(demo_db))
        yield


def cell(matrix: pd.DataFrame, country: str, quarter: str) -> dict:
    return matrix.set_index(["country", "quarter"]).loc[(country, quarter)].to_dict()


def test_the_matrix_shows_late_missing_and_on_time(reg):
    matrix = tables.submission_matrix(data.submissions(), [], reg, TODAY)
    assert len(matrix) == len(reg.countries) * len(reg.quarters)
    late = cell(matrix, "RO", "2023-Q1")
    assert (late["status"], late["days_late"], late["due"]) == ("late", 19, dt.date(2023, 4, 30))
    assert tables.status_text(late) == "▲ Late (19 days)"
    assert cell(matrix, "HU", "2022-Q3")["status"] == "missing"
    assert tables.status_text(cell(matrix, "IT", "2022-Q3")) == "✔ On time · 2 organisations"
    assert matrix["status"].value_counts().to_dict() == {"on_time": 61, "late": 1, "missing": 1}


def test_rejected_superseded_and_not_yet_due(reg):
    subs = data.submissions()
    first = (subs["country"] == "BG") & (subs["quarter"] == "2022-Q2")
    second = subs[first].assign(version=2)
    subs = subs.assign(current=subs["current"] & ~first)  # superseded by the second
    refused = [{"country": "HU", "quarter": "2022-Q3", "file_name": "HU.xlsx", "findings": []},
               {"country": "BG", "quarter": "2022-Q2", "file_name": "BG.xlsx", "findings": []}]
    review = pd.DataFrame([("BG", "2022-Q2", "", "returned"), ("RO", "2022-Q2", "", "approved"),
                           ("IT", "2022-Q2", "ActionAid Italia", "approved"),
                           ("IT", "2022-Q2", "Regione Campania", "submitted")],
                          columns=["country", "quarter", "organisation", "state"])
    matrix = tables.submission_matrix(pd.concat([subs, second]), refused, reg, dt.date(2023, 5, 1), review)
    assert cell(matrix, "HU", "2022-Q3")["status"] == "rejected"
    bg = cell(matrix, "BG", "2022-Q2")
    assert tables.status_text(bg) == "✔ On time · Returned · ↻ 1 superseded · ⊘ 1 rejected"
    assert tables.status_text(cell(matrix, "RO", "2022-Q2")) == "✔ On time · Approved, locked"
    assert tables.status_text(cell(matrix, "IT", "2022-Q2")) == \
        "✔ On time · 2 organisations · Approved, locked: 1"
    assert cell(matrix, "AT", "2023-Q2")["status"] == "on_time"  # the demo has it already
    late = tables.overdue(matrix, dt.date(2023, 5, 1))
    assert late.to_dict("records") == [{
        "country": "HU", "quarter": "2022-Q3", "due": dt.date(2022, 10, 30),
        "overdue_since": dt.date(2022, 10, 31), "days_overdue": 183, "rejected_files": 1}]
    empty = subs.iloc[0:0]
    assert set(tables.submission_matrix(empty, [], reg, dt.date(2022, 2, 15))["status"]) == {
        "missing", "not_due"}


def test_persons_under_five_are_suppressed():
    assert [tables.persons(v) for v in (0, 1, 4, 5, 1234, None)] == [0, "<5", "<5", 5, 1234, ""]


def test_entity_table_has_one_row_per_entity_with_its_history(reg):
    history = data.sheet_rows("councils", "status", "2023-Q4")
    table = tables.entity_table(history, reg, "council", data.counted("council", "2023-Q4"))
    assert list(table["id"]) == [f"{c.code}-C1" for c in reg.countries]
    hu = table.set_index("id").loc["HU-C1"]
    assert (hu["status"], hu["2022-Q3"], hu["2023-Q1"]) == ("Active", "", "Established")
    assert hu["counts_toward"] == "Migrant councils established"
    assert table.set_index("id").loc["AT-C1", "counts_toward"] == "Migrant councils strengthened"
    assert hu["sheet"] == reg.sheet("councils").label("hu") and hu["file_name"] == "HU_2023-Q4.xlsx"


def test_breakdowns_add_up_to_the_kpis(reg, demo_db):
    truth = data.kpis_at("2023-Q4").set_index(["id", "country"], drop=False)
    activities = data.sheet_rows("activities", "participants_total", "2023-Q4")
    parts = tables.breakdown(activities, reg, reg.kpi("direct_participants"))
    total = truth[truth["country"].isna() & (truth["id"] == "direct_participants")]["value"].iloc[0]
    assert parts.groupby("by")["count"].sum().to_dict() == {"sex": total, "age": total}
    categories = tables.by_category(activities, reg, reg.kpi("direct_participants"))
    assert categories["Direct participations (participations)"].sum() == total  # says what it counts
    assert categories["Third-country nationals (participations)"].sum() == 4_588
    channels = tables.by_category(data.sheet_rows("outreach", "migrants_reached", "2023-Q4"), reg,
                                  reg.kpi("migrants_reached"))
    reached = truth[truth["country"].isna() & (truth["id"] == "migrants_reached")]["value"].iloc[0]
    assert channels["Migrants reached (migrants)"].sum() == reached == 1_046_634
    assert channels.iloc[0].to_dict() == {"Channel": "Migrants in the council's territory",
                                          "Estimation method": "Official statistics",
                                          "rows": 7, "Migrants reached (migrants)": 472_500}


def test_findings_of_accepted_and_rejected_files(reg):
    warnings = pd.DataFrame([{"country": "AT", "quarter": "2023-Q3", "file_name": "a.xlsx",
                              "severity": "warning", "rule": "ignored_sheet", "message": "m"}])
    rejected = [{"country": "AT", "quarter": "2023-Q3", "file_name": "b.xlsx", "rejected_at": "t",
                 "findings": [{"severity": "error", "sheet": "S", "cell": "D3", "value": "-5",
                               "rule": "min", "message": "not below 0"},
                              {"severity": "warning", "sheet": "", "cell": "", "value": "x",
                               "rule": "ignored_sheet", "message": "m"}]}]
    found = tables.all_findings(warnings, rejected)
    assert list(found["outcome"]) == ["accepted", "rejected", "rejected"]
    counts = tables.findings_matrix(found, reg).set_index(["country", "quarter"])
    assert counts.loc[("AT", "2023-Q3")].to_dict() == {"warnings": 1, "errors": 1}
    assert tables.only(found, severity="error")["cell"].tolist() == ["D3"]
    assert (found["state"] == "open").all()
    assert found["check"].tolist() == ["Ignored sheet", "Min", "Ignored sheet"]


def test_findings_close_when_superseded_or_corrected():
    """A warning of a superseded version and the errors of a file corrected since are closed."""
    warnings = pd.DataFrame([{"country": "AT", "quarter": "2023-Q3", "file_name": f"v{v}.xlsx",
                              "version": v, "severity": "warning", "rule": "outlier", "current": v == 2}
                             for v in (1, 2)])
    error = {"severity": "error", "rule": "min", "fix": "Type 0 or more."}
    rejected = [{"country": c, "quarter": "2023-Q4", "file_name": f"{c}.xlsx", "organisation": "",
                 "rejected_at": "2024-01-10T09:00:00", "findings": [error]} for c in ("BG", "RO")]
    accepted = pd.DataFrame([{"country": "BG", "quarter": "2023-Q4", "partner": "WCIF",
                              "received_at": pd.Timestamp("2024-01-11 10:00")},
                             {"country": "RO", "quarter": "2023-Q4", "partner": "PATRIR",
                              "received_at": pd.Timestamp("2024-01-09 10:00")}])  # before the refusal
    found = tables.all_findings(warnings, rejected, accepted)
    assert found[["file_name", "state"]].values.tolist() == [
        ["v1.xlsx", "closed: superseded"], ["v2.xlsx", "open"],
        ["BG.xlsx", "closed: corrected"], ["RO.xlsx", "open"]]
    assert found["fix"].tolist()[2] == "Type 0 or more."


def test_downloads_keep_partner_text_as_text():
    frame = pd.DataFrame({"file": ["=HYPERLINK(\"x\")", "@sum", "plain"], "value": [1, -2, None]})
    csv = downloads.to_csv(frame)
    assert "'=HYPERLINK" in csv and "'@sum" in csv and ",-2" in csv
    assert csv.startswith("\ufefffile,value")  # a byte-order mark: Excel reads Cyrillic and Greek right
    sheet = load_workbook(io.BytesIO(downloads.to_xlsx(frame, "table/1"))).active
    assert sheet.title == "table1"
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=HYPERLINK(\"x\")", "s")
    assert (sheet["B3"].value, sheet["B4"].value) == (-2, None)


def test_records_are_ready_for_json():
    frame = pd.DataFrame({"day": [dt.date(2023, 1, 2)], "at": [pd.Timestamp("2023-01-02 10:11:12")],
                          "missing": [float("nan")], "n": pd.Series([3], dtype="int64")})
    assert tables.records(frame) == [{"day": "2023-01-02", "at": "2023-01-02 10:11:12",
                                      "missing": None, "n": 3}]
    assert type(tables.records(frame)[0]["n"]) is int


def test_answers_are_kept_until_the_database_changes(tmp_path, monkeypatch):
    db = tmp_path / "mvh.duckdb"
    db.write_bytes(b"first")
    monkeypatch.setenv("MVH_DB", str(db))
    calls = []
    reader = data.kept(lambda x: calls.append(x) or {"rows": [x]})
    assert reader(1) == reader(1) == {"rows": [1]} and calls == [1]
    reader(1)["rows"].append(2)  # a caller's copy: changing it changes nothing kept
    assert reader(1) == {"rows": [1]} and calls == [1]
    db.write_bytes(b"second, written by the ingest")
    os.utime(db, ns=(1, 1))
    assert reader(1) == {"rows": [1]} and calls == [1, 1]


def test_refused_uploads_name_their_sender_newest_first():
    finding = {"severity": "error", "message": "This workbook is for BG, but you report for RO."}
    reports = [{"file_name": "old.xlsx", "rejected_at": "2023-01-05T10:00:00", "findings": []},
               {"file_name": "cli.xlsx", "rejected_at": "2023-02-05T10:00:00", "uploaded_by": None,
                "findings": []},
               {"file_name": "BG.xlsx", "rejected_at": "2023-03-05T10:00:59", "uploaded_by": "partner-ro",
                "uploader_country": "RO", "country": "", "named_country": "BG", "quarter": "2023-Q1",
                "findings": [finding, {**finding, "message": "second"}]}]
    frame = tables.refused_uploads(reports)
    assert frame.to_dict("records")[0] == {
        "rejected_at": "2023-03-05 10:00", "file_name": "BG.xlsx", "sent_by": "partner-ro",
        "first_error": "This workbook is for BG, but you report for RO.", "sender_country": "RO",
        "for_country": "BG", "quarter": "2023-Q1", "errors": 2}
    assert list(frame["sent_by"]) == ["partner-ro", "command line", "not recorded"]


def test_counts_among_words_are_text_to_the_grid_aligned_as_numbers(reg):
    from dashboard import ui

    frame = pd.DataFrame({"sex": ["Female", "Other"], "under_18": [41, "<5"],
                          "unique": [249, "not collected"], "people": [1234, 5], "note": ["", None]})
    grid = ui.table("t", frame).children[0]
    kinds = {c["field"]: (c.get("cellDataType"), c.get("type")) for c in grid.columnDefs}
    assert kinds == {"sex": (None, None), "under_18": ("text", "rightAligned"),
                     "unique": ("text", "rightAligned"), "people": (None, "rightAligned"),
                     "note": (None, None)}
    shown = {c["field"]: c.get("valueFormatter", {}).get("function", "") for c in grid.columnDefs}
    # written as the reader's language writes numbers (English outside a request): 2,336
    assert '"thousands": ","' in shown["under_18"] and '"thousands": ","' in shown["people"]
    assert ui.number("not collected") == "not collected" and ui.number(1234.0) == "1,234"


def test_unique_participants_are_not_collected_where_no_register_was_kept(reg):
    assert data.collected("2023-Q4") == {"AT", "GR", "RO"}
    assert data.collected("2021-Q4") == set()  # the registers start in 2022-Q1
    assert data.shown("unique_participants", 0.0, "BG", "2023-Q4") == "not collected"
    assert data.shown("unique_participants", 249.0, "AT", "2023-Q4") == 249
    assert data.shown("unique_participants", 798.0, None, "2023-Q4") == 798
    assert data.shown("direct_participants", 707.0, "BG", "2023-Q4") == 707  # not a register count
    assert tables.collected_note(reg, {"AT", "GR", "RO"}) == (
        " (registers of AT, GR, RO; not collected in BG, FR, HU, IT)")
    assert tables.collected_note(reg, set()).startswith(" (not collected")


def test_an_entity_s_status_by_quarter_names_each_change(reg):
    quarters = reg.quarters
    hu = ["Planned", "Planned", "Planned", "", "In preparation", "Established", "Established", "Active",
          "Active"]
    assert tables.status_history(hu, quarters) == (
        "2021-Q4 Planned → 2022-Q3 not reported → 2022-Q4 In preparation → 2023-Q1 Established → "
        "2023-Q3 Active")
    supporting = ["", "", "Supporting", *["Supporting"] * 6]
    assert tables.status_history(supporting, quarters) == "2022-Q2 Supporting"

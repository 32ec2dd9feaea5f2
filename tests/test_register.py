"""Participant registers: unique counts with planted repeats, pseudonymisation, reconciliation,
bad registers refused with their cell and fix, CSV, Parquet and a register sheet."""

from __future__ import annotations

import csv
import json
import subprocess
import zipfile

import duckdb
import pytest

from pipelines import ingest
from pipelines.export import pack as export
from pipelines.export import snapshot
from pipelines.intake import read
from pipelines.marts import kpis, people
from tests.conftest import SOFFICE, need
from tests.workbooks import copied, edited

RAW = "ZQXJ-RAW-7731"  # a participant code that must never be stored
HEADER = ["participant_code", "activity_id", "date", "sex", "age_bracket", "third_country_national"]


def write_csv(path, rows, header=HEADER):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


def holds(path, text: str) -> bool:
    """Whether a file holds the text: in its bytes, in any part of a zip (.xlsx, .zip) unpacked,
    or, for a DuckDB file, in any column of any table (its strings are compressed on disk)."""
    needles = (text.encode(), text.lower().encode())
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return any(n in z.read(name) for name in z.namelist() for n in needles)
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            return any(con.execute(f"SELECT count(*) FROM {t} WHERE contains(lower(CAST({t} AS VARCHAR)), ?)",
                                   [text.lower()]).fetchone()[0] for t in tables)  # the whole row as text
    data = path.read_bytes()
    return any(n in data for n in needles)


def acts(demo_dir, reg, name):
    frame = read.read(demo_dir / name, reg).sheets["activities"].frame
    return frame["activity_id"].tolist()


@pytest.fixture
def bg(demo_dir, reg, db_path, tmp_path):
    """A database with Bulgaria's 2022-Q3 and 2022-Q4 and Austria's 2022-Q3 workbooks."""
    names = ["BG_2022-Q3.xlsx", "BG_2022-Q4.xlsx", "AT_2022-Q3.xlsx"]
    files = [copied(demo_dir / n, tmp_path / "in" / n) for n in names]
    assert {o.status for o in ingest.ingest(files, reg, db_path)} == {"accepted"}
    return {n[:10]: acts(demo_dir, reg, n) for n in names}


def counts(db_path, reg, as_of):
    with duckdb.connect(str(db_path), read_only=True) as con:
        frame = kpis.compute(con, reg, as_of)
        got = frame[frame["id"] == "unique_participants"]
        got.index = got["country"].fillna("all")
        return {k: int(v) for k, v in got["value"].items() if v}, people.by_quarter(con, reg, as_of, "BG"), \
            people.by_sex_age(con, reg, as_of, "BG")


def planted(bg, tmp_path):
    """Same person in two activities and two quarters, two sessions of one activity, a code
    typed differently, and the same code in two countries."""
    q3, q4, at = bg["BG_2022-Q3"], bg["BG_2022-Q4"], bg["AT_2022-Q3"]
    return [
        write_csv(tmp_path / "r" / "BG_2022-Q3_register.csv", [
            [RAW, q3[0], "05/07/2022", "female", "18_60", "yes"],
            [RAW, q3[1], "06/07/2022", "female", "18_60", "yes"],
            ["P2", q3[0], "05/07/2022", "male", "under_18", "no"],
            ["P2", q3[0], "12/07/2022", "male", "under_18", "no"],  # a second session: same participation
        ]),
        write_csv(tmp_path / "r" / "BG_2022-Q4_register.csv", [
            [f" {RAW.lower()} ", q4[0], "05/10/2022", "female", "over_60", "yes"],  # same person
            ["P3", q4[0], "05/10/2022", "other_unknown", "unknown", "yes"],
        ]),
        write_csv(tmp_path / "r" / "AT_2022-Q3_register.csv", [
            [RAW, at[0], "2022-08-01", "male", "18_60", "yes"],  # another country: another person
        ]),
    ]


def test_unique_counts_with_planted_repeats(bg, reg, db_path, tmp_path):
    outcomes = ingest.ingest(planted(bg, tmp_path), reg, db_path)
    assert [o.status for o in outcomes] == ["accepted"] * 3
    by_kpi, _, _ = counts(db_path, reg, "2022-Q3")
    assert by_kpi == {"all": 3, "BG": 2, "AT": 1}
    by_kpi, quarters, grid = counts(db_path, reg, "2022-Q4")
    assert by_kpi == {"all": 4, "BG": 3, "AT": 1}
    assert quarters.to_dict("list") == {"quarter": ["2022-Q3", "2022-Q4"], "participations": [3, 2],
                                        "unique_in_quarter": [2, 2], "new": [2, 1],
                                        "unique_cumulative": [2, 3]}
    # each person once, with the sex and age bracket of their latest participation
    assert grid.loc["female"].to_dict() == {"under_18": 0, "18_60": 0, "over_60": 1, "unknown": 0}
    assert grid.loc["male", "under_18"] == 1 and grid.loc["other_unknown", "unknown"] == 1
    assert int(grid.to_numpy().sum()) == 3


def test_a_corrected_register_supersedes_the_earlier_one(bg, reg, db_path, tmp_path):
    ingest.ingest(planted(bg, tmp_path), reg, db_path)
    again = write_csv(tmp_path / "v2" / "BG_2022-Q3_register.csv",
                      [["P9", bg["BG_2022-Q3"][0], "05/07/2022", "male", "18_60", "no"]])
    [outcome] = ingest.ingest([again], reg, db_path)
    assert (outcome.status, outcome.version) == ("accepted", 2)
    assert counts(db_path, reg, "2022-Q4")[0] == {"all": 4, "BG": 3, "AT": 1}  # P9, RAW, P3
    assert counts(db_path, reg, "2022-Q3")[0] == {"all": 2, "BG": 1, "AT": 1}
    assert ingest.ingest([again], reg, db_path)[0].status == "unchanged"


def test_the_raw_code_is_stored_nowhere(bg, reg, db_path, tmp_path):
    files = planted(bg, tmp_path)
    bad = write_csv(tmp_path / "bad" / "AT_2022-Q4_register.csv", [[RAW, "X", "01/01/2020", "f?", "", ""]])
    outcomes = ingest.ingest([*files, bad], reg, db_path)
    assert [o.status for o in outcomes] == ["accepted"] * 3 + ["rejected"]
    sid = snapshot.take(db_path, reg, "2022-Q3..2022-Q4", "2022-Q4")
    snap = snapshot.load(snapshot.directory(db_path), sid)
    pack = export.build(snap, __import__("datetime").datetime(2024, 1, 1))
    snap.close()
    from pipelines.export import write as export_write

    written = [export_write.write_xlsx(pack, tmp_path / "pack.xlsx"),
               export_write.write_csv_zip(pack, tmp_path / "pack.zip")]
    stored = [p for p in db_path.parent.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in stored) and any(p.suffix == ".json" for p in stored)
    assert not any(holds(path, RAW) for path in [*stored, *written])
    assert holds(files[0], RAW)  # the partner's own file does hold it
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM participations").fetchone()[0] == 7
        assert RAW not in json.dumps(con.execute("SELECT * FROM findings").df().astype(str).to_dict())


def test_a_register_that_disagrees_with_its_activities_is_a_warning(demo_dir, reg, db_path, tmp_path,
                                                                    monkeypatch):
    book = read.read(demo_dir / "BG_2022-Q3.xlsx", reg)
    rows = []
    for a in book.sheets["activities"].frame.to_dict("records"):
        sexes = ["female"] * int(a["female"]) + ["male"] * int(a["male"]) + \
            ["other_unknown"] * int(a["sex_other_unknown"])
        ages = ["under_18"] * int(a["age_under_18"]) + ["18_60"] * int(a["age_18_60"]) + \
            ["over_60"] * int(a["age_over_60"]) + ["unknown"] * int(a["age_unknown"])
        tcn = ["yes"] * int(a["third_country_nationals"]) + ["no"] * 100
        rows += [[f"{a['activity_id']}-{i}", a["activity_id"], a["start_date"].strftime("%d/%m/%Y"),
                  s, g, t] for i, (s, g, t) in enumerate(zip(sexes, ages, tcn, strict=False))]
    first = book.sheets["activities"].frame.iloc[0]
    exact = write_csv(tmp_path / "ok" / "BG_2022-Q3_register.csv", rows)
    short = write_csv(tmp_path / "short" / "BG_2022-Q3_register.csv", rows[1:])  # one person fewer
    outcomes = ingest.ingest([demo_dir / "BG_2022-Q3.xlsx", exact], reg, db_path)
    assert [(o.status, o.findings) for o in outcomes] == [("accepted", []), ("accepted", [])]
    [outcome] = ingest.ingest([short], reg, db_path)
    assert outcome.status == "accepted"
    total = next(f for f in outcome.findings if f.field == "participants_total")
    assert total.severity == "warning" and total.rule == "register_mismatch"
    n = int(first["participants_total"])
    assert total.message == (f"Activity {first['activity_id']}: the register counts {n - 1} for "
                             f"'Participants', the Activities sheet says {n}.")
    assert "upload the corrected file" in total.fix
    with duckdb.connect(str(db_path), read_only=True) as con:
        kept = con.execute("SELECT count(*) FROM findings WHERE submission_id = ? AND rule = "
                           "'register_mismatch'", [outcome.sha256]).fetchone()[0]
    assert kept == len(outcome.findings) >= 2  # the total and the sex or age part it changes
    monkeypatch.setenv("MVH_DB", str(db_path))
    from dashboard import data

    shown = data.findings()  # the Data quality page lists them, with the register file
    assert set(shown[shown["rule"] == "register_mismatch"]["file_name"]) == {short.name}


@pytest.mark.parametrize("case, rows, header, rule, cell", [
    ("missing column", [["P1", "A", "05/07/2022", "female", "18_60"]], HEADER[:5], "missing_column", ""),
    ("bad sex", [["P1", None, "05/07/2022", "woman?", "18_60", "yes"]], HEADER, "allowed", "D2"),
    ("date outside the quarter", [["P1", None, "05/10/2022", "female", "18_60", "yes"]], HEADER,
     "date_after_quarter", "C2"),
    ("unknown activity", [["P1", "NOPE-1", "05/07/2022", "female", "18_60", "yes"]], HEADER,
     "register_activity", "B2"),
    ("empty code", [["", None, "05/07/2022", "female", "18_60", "yes"]], HEADER, "required", "A2"),
])
def test_bad_registers_are_refused_with_cell_and_fix(bg, reg, db_path, tmp_path, case, rows, header,
                                                     rule, cell):
    rows = [[bg["BG_2022-Q3"][0] if v is None else v for v in r] for r in rows]
    path = write_csv(tmp_path / "bad" / "BG_2022-Q3_register.csv",
                     [*rows, ["P7", bg["BG_2022-Q3"][0], "06/07/2022", "male", "18_60", "no"]], header)
    [outcome] = ingest.ingest([path], reg, db_path)
    assert outcome.status == "rejected", case
    found = next(f for f in outcome.findings if f.rule == rule)
    assert (found.severity, found.sheet, found.cell) == ("error", path.name, cell)
    assert found.fix and found.message
    if rule == "register_activity":
        assert found.message == "Activity id 'NOPE-1' is not an activity of 2022-Q3."
    if rule != "missing_column":
        assert found.value != "P1"  # a code is never echoed
    quarantined = json.loads((db_path.parent / "quarantine" / f"{outcome.sha256}.json").read_text())
    assert quarantined["findings"] and not (db_path.parent / "quarantine" / path.name).exists()
    assert "P1" not in json.dumps(quarantined["findings"])
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM registers").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM participations").fetchone()[0] == 0


def test_a_register_must_be_tied_to_a_loaded_quarter(bg, reg, db_path, tmp_path):
    row = [["P1", "X-1", "05/01/2023", "female", "18_60", "yes"]]
    nameless = write_csv(tmp_path / "participants.csv", row)
    early = write_csv(tmp_path / "BG_2023-Q1_register.csv", [*row, row[0]])  # other bytes
    outcomes = ingest.ingest([nameless, early], reg, db_path)
    assert [o.status for o in outcomes] == ["rejected", "rejected"]
    assert outcomes[0].findings[0].rule == "register_name"
    assert "BG_2022-Q3_register.csv" in outcomes[0].findings[0].fix
    assert [f.rule for f in outcomes[1].findings] == ["register_no_workbook"]
    assert "Upload the quarter's workbook first" in outcomes[1].findings[0].fix


def test_parquet_register_and_translated_headers(bg, reg, db_path, tmp_path):
    q3 = bg["BG_2022-Q3"]
    labels = [f.label("bg") for f in reg.participant_register.sheet.fields]
    source = write_csv(tmp_path / "src.csv", [["P1", q3[0], "2022-07-05", "Жена", "От 18 до 60", "Да"],
                                              ["P1", q3[1], "2022-07-06", "Жена", "От 18 до 60", "Да"]],
                       labels)
    target = tmp_path / "MVH_BG_2022-Q3_register.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet)")
    [outcome] = ingest.ingest([target], reg, db_path)
    assert outcome.status == "accepted", outcome.findings
    with duckdb.connect(str(db_path), read_only=True) as con:
        got = con.execute("SELECT kind, rows FROM registers").fetchall()
        sexes = con.execute("SELECT DISTINCT sex, age_bracket, third_country_national FROM participations"
                            ).fetchall()
    assert got == [("parquet", 2)] and sexes == [("female", "18_60", "yes")]


def with_register_sheet(demo_dir, reg, tmp_path):
    """Bulgaria's 2022-Q3 workbook with three rows in its register sheet, two of one person."""
    sheet = reg.participant_register.sheet.label("bg")
    ids = acts(demo_dir, reg, "BG_2022-Q3.xlsx")
    edits = {}
    for row, values in enumerate([[RAW, ids[0], "05/07/2022", "Жена", "От 18 до 60", "Да"],
                                  [RAW, ids[1], "06/07/2022", "Жена", "От 18 до 60", "Да"],
                                  ["P2", ids[1], "06/07/2022", "Мъж", "Под 18", "Не"]], start=3):
        edits.update({(sheet, f"{col}{row}"): v for col, v in zip("ABCDEF", values, strict=True)})
    return edited(demo_dir / "BG_2022-Q3.xlsx", tmp_path / "BG_2022-Q3.xlsx", edits)


def test_a_register_sheet_in_the_workbook(demo_dir, reg, db_path, tmp_path):
    sheet = reg.participant_register.sheet.label("bg")
    path = with_register_sheet(demo_dir, reg, tmp_path)
    [outcome] = ingest.ingest([path], reg, db_path)
    assert outcome.status == "accepted"
    # two people against the activities' full counts: warnings, each naming the sheet
    assert {f.rule for f in outcome.findings} == {"register_mismatch"}
    assert {f.sheet for f in outcome.findings} == {sheet}
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT kind, rows, submission_id = register_id FROM registers").fetchall() == [
            ("sheet", 3, True)]
        assert con.execute("SELECT count(DISTINCT person) FROM participations").fetchone()[0] == 2
        stored = con.execute("SELECT stored_path FROM submissions").fetchone()[0]
    # the workbook is kept with its register sheet emptied: the codes are nowhere, the rest is read
    assert holds(path, RAW)
    assert not any(holds(p, RAW) for p in db_path.parent.rglob("*") if p.is_file())
    again = read.read(stored, reg)
    original = read.read(path, reg)
    assert again.sheets["activities"].frame.equals(original.sheets["activities"].frame)
    assert "register" not in again.sheets and "register" in original.sheets


def test_the_participant_key_is_created_once_private_and_outside_the_project(monkeypatch, tmp_path, capsys):
    from pipelines.store import pseudonym

    monkeypatch.delenv("MVH_PARTICIPANT_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    first = pseudonym.key()
    path = tmp_path / ".config" / "mvh" / "participant.key"
    assert path.stat().st_mode & 0o777 == 0o600 and len(first) == 64
    assert "Back it up" in capsys.readouterr().err
    assert pseudonym.key() == first and capsys.readouterr().err == ""  # created once
    monkeypatch.setenv("MVH_PARTICIPANT_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(pseudonym.ParticipantKeyError, match="restore the project's participant key"):
        pseudonym.key()


def test_a_person_is_a_keyed_hash_of_country_and_code():
    import pandas as pd

    from pipelines.store import pseudonym

    codes = pd.Series(["AB-12", " ab-12 ", "AB-13", None])
    bg = pseudonym.persons(codes, "BG", b"k" * 32)
    assert bg[0] == bg[1] != bg[2] and pd.isna(bg[3])
    assert pseudonym.persons(codes, "AT", b"k" * 32)[0] != bg[0]  # same code, other country
    assert pseudonym.persons(codes, "BG", b"j" * 32)[0] != bg[0]  # another key


def test_a_register_sheet_resaved_by_libreoffice(demo_dir, reg, db_path, tmp_path):
    office = need(SOFFICE, "LibreOffice")
    source = with_register_sheet(demo_dir, reg, tmp_path / "src")
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo-out"), str(source)],
                   check=True, capture_output=True, timeout=180)
    resaved = tmp_path / "lo-out" / source.name
    [outcome] = ingest.ingest([resaved], reg, db_path)
    assert outcome.status == "accepted", outcome.findings
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT rows, count(DISTINCT person) FROM registers, participations "
                           "GROUP BY rows").fetchall() == [(3, 2)]
    assert holds(resaved, RAW)
    assert not any(holds(p, RAW) for p in db_path.parent.rglob("*") if p.is_file())


@pytest.mark.parametrize("mode", ["check", "submit"])
def test_a_register_sheet_uploaded_from_the_web_leaves_no_code_on_the_server(
        app, demo_dir, reg, tmp_path, monkeypatch, mode):
    import base64

    from tests.dash_client import add_accounts, dependencies, fire, login, text

    db = tmp_path / "db" / "mvh.duckdb"
    monkeypatch.setenv("MVH_DB", str(db))
    ingest.ingest(sorted(demo_dir.glob("BG_2022-Q[12].xlsx")), reg, db)
    add_accounts(db)
    client = app.server.test_client()
    login(client, "partner-bg")
    path = with_register_sheet(demo_dir, reg, tmp_path / "src")
    spec = next(s for s in dependencies(client) if s["output"] == "upload-result.children")
    contents = "data:;base64," + base64.b64encode(path.read_bytes()).decode()
    shown = text(fire(client, spec, [{"contents": contents, "filename": path.name}], [mode, "en"]))
    assert ("Loaded as BG 2022-Q3 version 1" if mode == "submit" else "No errors") in shown
    download = next(s for s in dependencies(client) if s["output"] == "upload-annotated-download.data")
    marked = fire(client, download, [1]).get_json()["response"]["upload-annotated-download"]["data"]
    copy = tmp_path / "marked.xlsx"
    copy.write_bytes(base64.b64decode(marked["content"]))
    assert holds(path, RAW) and not holds(copy, RAW)
    kept = [p for p in db.parent.rglob("*") if p.is_file()]
    assert any(p.name == path.name for p in kept) and not any(holds(p, RAW) for p in kept)

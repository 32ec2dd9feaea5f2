"""Demo data: deterministic per seed, true to the project's story, with its two gaps."""

from __future__ import annotations

import hashlib

from pipelines import demo_data
from pipelines.intake import read


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.xlsx"))}


def test_one_workbook_per_country_and_quarter_but_one_missing_two_for_italy(demo_dir, reg):
    names = {p.name for p in demo_dir.glob("*.xlsx")}
    assert len(names) == 7 * 9 - 1 + 9  # and Italy's second organisation's workbook each quarter
    assert "HU_2022-Q3.xlsx" not in names
    assert {"AT_2021-Q4.xlsx", "RO_2023-Q4.xlsx", "IT_2023-Q4_Regione_Campania.xlsx"} <= names


def test_same_seed_same_bytes_other_seed_other_data(demo_dir, reg, tmp_path):
    """Each country's data comes from its own seeded stream: two countries (Italy's two
    organisations, Romania's late quarter and registers) made again stand for all."""
    some = reg.model_copy(update={"countries": [reg.country("IT"), reg.country("RO")]})
    demo_data.generate(some, tmp_path / "again", seed=0)
    demo_data.generate(some, tmp_path / "other", seed=1)
    theirs = {name: sha for name, sha in digest(demo_dir).items() if name[:2] in ("IT", "RO")}
    assert len(theirs) == 27 and digest(tmp_path / "again") == theirs
    assert digest(tmp_path / "other").keys() == theirs.keys()
    assert not set(digest(tmp_path / "other").values()) & set(theirs.values())


def test_romania_2023_q1_came_in_late(demo_dir, reg):
    book = read.read(demo_dir / "RO_2023-Q1.xlsx", reg)
    submitted = book.cover["submitted_on"].date()
    assert (submitted - reg.due_date("2023-Q1")).days == 19
    on_time = read.read(demo_dir / "RO_2022-Q4.xlsx", reg).cover["submitted_on"].date()
    assert on_time <= reg.due_date("2022-Q4")


def test_workbooks_are_in_the_partners_language(demo_dir, reg):
    book = read.read(demo_dir / "GR_2022-Q2.xlsx", reg)
    assert book.sheets["activities"].name == reg.sheet("activities").label("el")
    assert book.stamp["language"] == "el"


def test_quarters_shift_across_years():
    from pipelines.declaration import quarters

    assert [quarters.shift("2022-Q4", n) for n in (-4, -1, 0, 1, 5)] == [
        "2021-Q4", "2022-Q3", "2022-Q4", "2023-Q1", "2024-Q1"]

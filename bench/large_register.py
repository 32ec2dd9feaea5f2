"""Participant registers of up to a million rows, for the benchmarks (never committed: generated).

`write_csv` writes a CSV register with DuckDB (a million rows in about a second); `write_xlsx` an
.xlsx register (up to 1,048,575 rows under its header: a full Excel sheet) with xlsxwriter in
constant-memory mode. The rows are deterministic: PEOPLE people of the country come back to the
quarter's activities (about 3 participations each), with dates inside the quarter and mixes of
sex, age bracket and nationality. Every row is valid, so the whole register is loaded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.declaration import quarters
from pipelines.declaration.registry import Registry

PEOPLE = 300_000
# one row's values from its number i: cheap integer mixing, the same every run
ROWS_SQL = """
SELECT '{country}-' || lpad(CAST((i * 7919) % {people} AS VARCHAR), 6, '0') AS participant_code,
       list_extract($activities, CAST(1 + (i * 31) % len($activities) AS INTEGER)) AS activity_id,
       strftime(DATE '{start}' + CAST((i * 13) % {days} AS INTEGER), '%d/%m/%Y') AS date,
       list_extract(['female', 'male', 'female', 'male', 'other_unknown'],
                    CAST(1 + ((i * 7919) % {people}) % 5 AS INTEGER)) AS sex,
       list_extract(['18_60', '18_60', '18_60', '18_60', '18_60', '18_60', 'under_18', 'over_60',
                     'unknown'], CAST(1 + ((i * 7919) % {people}) % 9 AS INTEGER)) AS age_bracket,
       CASE WHEN ((i * 7919) % {people}) % 10 < 8 THEN 'yes' ELSE 'no' END AS third_country_national
FROM range({rows}) t(i)
"""


def _query(country: str, quarter: str, rows: int) -> str:
    start, end = quarters.first_day(quarter), quarters.last_day(quarter)
    return ROWS_SQL.format(country=country, people=PEOPLE, start=start, days=(end - start).days + 1,
                           rows=rows)


def write_csv(path: Path, rows: int, activities: list[str], country: str = "BG",
              quarter: str = "2022-Q3") -> Path:
    """A CSV register named for its country and quarter inside `path`'s folder."""
    with duckdb.connect() as con:
        con.execute(f"COPY ({_query(country, quarter, rows)}) TO '{path}' (HEADER, DELIMITER ',')",
                    {"activities": activities})
    return path


def write_xlsx(path: Path, registry: Registry, rows: int, activities: list[str], country: str = "BG",
               quarter: str = "2022-Q4") -> Path:
    """An .xlsx register: the register sheet with its English headers in row 1, dates as dates."""
    import xlsxwriter

    rows = min(rows, 1_048_575)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet(registry.participant_register.sheet.label("en"))
    dates = wb.add_format({"num_format": "dd/mm/yyyy"})
    for c, f in enumerate(registry.participant_register.sheet.fields):
        ws.write_string(0, c, f.label("en"))
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        result = con.execute(_query(country, quarter, rows), {"activities": activities})
        r = 1
        while batch := result.fetchmany(50_000):
            for code, activity, day, sex, age, tcn in batch:
                ws.write_string(r, 0, code)
                ws.write_string(r, 1, activity)
                ws.write_datetime(r, 2, dt.datetime.strptime(day, "%d/%m/%Y"), dates)
                ws.write_string(r, 3, sex)
                ws.write_string(r, 4, age)
                ws.write_string(r, 5, tcn)
                r += 1
    wb.close()
    return path

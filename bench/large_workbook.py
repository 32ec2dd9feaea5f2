"""A partner workbook with many activity rows, for the benchmarks (never committed: generated).

Written with xlsxwriter in constant-memory mode, with the template's sheets, labels and stamp,
so it reads and validates like a real submission; every row is valid.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import xlsxwriter

from pipelines.declaration import quarters
from pipelines.declaration.registry import Registry
from pipelines.declaration.template import FIRST_DATA_ROW, HEADER_ROW, STAMP_SHEET


def write(path: Path, registry: Registry, rows: int, country: str = "BG", quarter: str = "2022-Q3",
          seed: int = 0) -> Path:
    rng = random.Random(seed)
    lang = "en"
    info = registry.country(country)
    start, end = quarters.first_day(quarter), quarters.last_day(quarter)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    dates = wb.add_format({"num_format": "dd/mm/yyyy"})
    cover = {"country": country, "quarter": quarter, "partner": info.partners[0],
             "reported_by": "Benchmark", "submitted_on": end + dt.timedelta(days=5)}
    for sheet in registry.template.sheets:
        ws = wb.add_worksheet(sheet.label(lang))
        if sheet.layout == "form":
            for r, f in enumerate(sheet.fields, start=FIRST_DATA_ROW - 1):
                ws.write(r, 0, f.label(lang))
                value = cover.get(f.id)
                if isinstance(value, dt.date):
                    ws.write_datetime(r, 1, dt.datetime.combine(value, dt.time()), dates)
                elif value is not None:
                    ws.write(r, 1, value)
            continue
        for c, f in enumerate(sheet.fields):
            ws.write(HEADER_ROW - 1, c, f.label(lang))
        records = _records(sheet.id, rows, country, start, end, rng)
        for r, record in enumerate(records, start=FIRST_DATA_ROW - 1):
            for c, f in enumerate(sheet.fields):
                value = record.get(f.id)
                if isinstance(value, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), dates)
                elif value is not None:
                    ws.write(r, c, value)
    stamp = wb.add_worksheet(STAMP_SHEET)
    for r, (key, value) in enumerate({"template_version": registry.project.template_version,
                                      "country": country, "quarter": quarter, "language": lang}.items()):
        stamp.write(r, 0, key)
        stamp.write(r, 1, value)
    stamp.very_hidden()
    wb.close()
    return path


def _records(sheet_id: str, rows: int, country: str, start: dt.date, end: dt.date,
             rng: random.Random) -> list[dict]:
    council = f"{country}-C1"
    if sheet_id == "councils":
        return [{"council_id": council, "name": "Council", "place": "Town", "level": "local",
                 "support_type": "establish", "status": "active", "status_date": start}]
    if sheet_id == "authorities":
        return [{"authority_id": f"{country}-A1", "name": "Municipality", "level": "local",
                 "council_id": council, "status": "supporting", "status_date": start}]
    if sheet_id == "outreach":
        return [{"outreach_id": f"{country}-O1", "channel": "media", "description": "Radio",
                 "migrants_reached": 1000, "estimation_method": "audience_measurement"}]
    if sheet_id != "activities":
        return []
    out = []
    for n in range(rows):
        total = rng.randint(5, 60)
        female = rng.randint(0, total)
        young = rng.randint(0, total - female) if total > female else 0
        day = start + dt.timedelta(days=rng.randint(0, (end - start).days))
        out.append({"activity_id": f"{country}-{n:07d}", "council_id": council, "title": f"Session {n}",
                    "activity_type": "training", "start_date": day, "end_date": day,
                    "participants_total": total, "female": female, "male": total - female,
                    "sex_other_unknown": 0, "age_under_18": young, "age_18_60": total - young,
                    "age_over_60": 0, "age_unknown": 0})
    return out

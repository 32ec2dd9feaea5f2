"""Filled partner workbooks for any project declaration, from the real template.

Nothing here knows a project: sheets, fields, code lists and rules all come from the declaration
(pipelines/declaration/registry.py). A test gives a small plan per workbook, the values it cares
about; every other cell a partner must fill is filled here by the field's type:

- a key: a code unique in its sheet (`PT-HUB3`);
- text: the field's label and the row number;
- a choice: the first code of its code list, written as its label in the template's language,
  as a partner picks it from the drop-down; a value that is no code is written as given (to make
  bad workbooks);
- an integer: the field's minimum; the parts of a `sums` rule add up to their total (the total is
  put in the first part), a total missing is the sum of its parts;
- a date: in a table, a day inside the quarter (the reader refuses dates after it); in a form, a
  few days after the quarter, as a partner sends it;
- a field that names an entity (`references`): the first entity of that kind in the same
  workbook when the field is required, blank otherwise.

Cells are found as the reader finds them (pipelines/intake/read.py): a table's header row is the
row of the first ten naming the most fields, its data start on the next row; a form's value is in
column B of the row whose column A is the field's label.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from openpyxl import Workbook, load_workbook

from pipelines.declaration import quarters, template
from pipelines.declaration.registry import Registry, Sheet, SheetField

HEADER_SCAN_ROWS = 10


def blank(registry: Registry, country: str, quarter: str, lang: str | None = None,
          path: Path | None = None) -> Workbook:
    """The template as a partner gets it: built here, or opened from a file `mvh template` wrote."""
    if path is not None:
        return load_workbook(path)
    return template.build(registry, country, quarter, lang)


def language(registry: Registry, wb: Workbook, country: str) -> str:
    """The template's language: its stamp's, or the country's."""
    if template.STAMP_SHEET in wb.sheetnames:
        ws = wb[template.STAMP_SHEET]
        for key, value in ws.iter_rows(min_col=1, max_col=2, values_only=True):
            if key == "language" and value:
                return str(value)
    return registry.country(country).language


def fill(wb: Workbook, registry: Registry, country: str, quarter: str,
         plan: dict[str, dict | list[dict]], lang: str | None = None) -> Workbook:
    """Write a plan into a blank template: {sheet id: {field: value} for a form, [rows] for a
    table}; a sheet the plan leaves out keeps no rows (a form keeps what the template filled)."""
    lang = lang or language(registry, wb, country)
    for sheet in registry.template.sheets:
        ws = wb[sheet.label(lang)]
        given = plan.get(sheet.id)
        if sheet.layout == "form":
            record = complete_form(registry, sheet, country, quarter, dict(given or {}))
            cells = form_cells(ws, sheet, lang)
            for f in sheet.fields:
                if f.id in record:
                    ws[cells[f.id]] = typed(registry, f, record[f.id], lang)
            continue
        header, columns = table_columns(ws, sheet, lang)
        for number, row in enumerate(given or [], start=1):
            record = complete_row(registry, sheet, country, quarter, number, dict(row), plan)
            for f in sheet.fields:
                if f.id in columns:
                    ws.cell(row=header + number, column=columns[f.id],
                            value=typed(registry, f, record.get(f.id), lang))
    return wb


def write(path: Path, registry: Registry, country: str, quarter: str,
          plan: dict[str, dict | list[dict]], lang: str | None = None,
          template_file: Path | None = None) -> Path:
    """A filled workbook at `path`, from a blank template (`template_file`, or built here)."""
    wb = blank(registry, country, quarter, lang, template_file)
    fill(wb, registry, country, quarter, plan, lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# ---- where the reader looks ---------------------------------------------------------------
def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).rstrip("*:").strip().casefold()


def form_cells(ws, sheet: Sheet, lang: str) -> dict[str, str]:
    """Field id -> the cell of its value (column B of its label's row)."""
    labels = {_norm(f.label(lang)): f.id for f in sheet.fields}
    labels.update({_norm(f.id): f.id for f in sheet.fields})
    cells = {}
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        fid = labels.get(_norm(cell.value))
        if fid and fid not in cells:
            cells[fid] = f"B{cell.row}"
    missing = [f.id for f in sheet.fields if f.id not in cells]
    assert not missing, f"the template's {ws.title} sheet has no row for {missing}"
    return cells


def table_columns(ws, sheet: Sheet, lang: str) -> tuple[int, dict[str, int]]:
    """(header row, field id -> column number): the header is the row naming the most fields."""
    labels = {_norm(f.label(lang)): f.id for f in sheet.fields}
    best: dict[str, int] = {}
    header = 0
    for row in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        hits = {}
        for cell in row:
            fid = labels.get(_norm(cell.value))
            if fid and fid not in hits:
                hits[fid] = cell.column
        if len(hits) > len(best):
            best, header = hits, row[0].row
    assert header, f"no header row naming the fields of {sheet.id} in {ws.title}"
    return header, best


def cell_of(registry: Registry, wb: Workbook, sheet_id: str, field_id: str, number: int = 1,
            lang: str = "en") -> tuple[str, str]:
    """(sheet name, cell) where row `number` of a table (or a form's field) is written."""
    sheet = registry.sheet(sheet_id)
    ws = wb[sheet.label(lang)]
    if sheet.layout == "form":
        return ws.title, form_cells(ws, sheet, lang)[field_id]
    header, columns = table_columns(ws, sheet, lang)
    return ws.title, f"{ws.cell(row=1, column=columns[field_id]).column_letter}{header + number}"


# ---- values by type -----------------------------------------------------------------------
def typed(registry: Registry, f: SheetField, value, lang: str):
    """A value as the partner enters it: a code as its label, a date as a date."""
    if value is None:
        return None
    if f.type == "choice" and value in registry.code_lists[f.choices]:
        return template.choice_label(registry, f.choices, value, lang)
    if f.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def complete_form(registry: Registry, sheet: Sheet, country: str, quarter: str,
                  record: dict) -> dict:
    for f in sheet.fields:
        if f.id in record or not f.required:
            continue
        if f.type == "country":
            record[f.id] = country
        elif f.type == "quarter":
            record[f.id] = quarter
        elif f.type == "partner":
            record[f.id] = registry.country(country).partners[0]
        elif f.type == "date":
            record[f.id] = quarters.last_day(quarter) + dt.timedelta(days=10)
        else:
            record[f.id] = default(registry, sheet, f, country, quarter, 1)
    return record


def complete_row(registry: Registry, sheet: Sheet, country: str, quarter: str, number: int,
                 record: dict, plan: dict) -> dict:
    """A table row with every required field given a value of its type."""
    for rule in registry.sums:
        if rule.sheet != sheet.id:
            continue
        if rule.total in record and not any(p in record for p in rule.parts):
            total = record[rule.total]
            record.update({p: (total if i == 0 else 0) for i, p in enumerate(rule.parts)})
        elif rule.total not in record and all(p in record for p in rule.parts):
            record[rule.total] = sum(record[p] for p in rule.parts)
    references = {r.field: r.entity for r in registry.references if r.sheet == sheet.id}
    for f in sheet.fields:
        if f.id in record or not f.required:
            continue
        if f.id in references:
            entity = registry.entities[references[f.id]]
            rows = plan.get(entity.sheet) or []
            record[f.id] = rows[0].get(entity.key) if rows else None
        else:
            record[f.id] = default(registry, sheet, f, country, quarter, number)
    return record


def default(registry: Registry, sheet: Sheet, f: SheetField, country: str, quarter: str,
            number: int):
    if f.key:
        return f"{country}-{sheet.id[:3].upper()}{number}"
    if f.type == "choice":
        return next(iter(registry.code_lists[f.choices]))
    if f.type == "integer":
        return int(f.min or 0)
    if f.type == "date":
        first, last = quarters.first_day(quarter), quarters.last_day(quarter)
        return min(first + dt.timedelta(days=7 * number), last)
    if f.type == "country":
        return country
    if f.type == "quarter":
        return quarter
    if f.type == "partner":
        return registry.country(country).partners[0]
    return f"{f.label('en')} {number}"


# ---- LibreOffice ----------------------------------------------------------------------------
def resaved(soffice: str, source: Path, target: Path, work: Path) -> Path:
    """`source` opened and saved again as .xlsx by LibreOffice (headless), as a partner using
    LibreOffice would send it, written to `target`; `work` holds LibreOffice's profile."""
    out = work / "out"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{work / 'profile'}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    made = out / f"{source.stem}.xlsx"
    assert made.exists(), f"LibreOffice wrote nothing: {result.stdout} {result.stderr}"
    assert made.read_bytes() != source.read_bytes()  # really written again
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(made, target)
    return target

"""Read a participant register — a sheet of the quarterly workbook, or a file of its own — into a
frame with a column per field and `_row`, the spreadsheet row of each participation.

A register file is tied to its country and quarter by its name: `<anything>_<CC>_<YYYY-Qn>_
register.csv` (or `.parquet`, `.xlsx`), e.g. `BG_2022-Q3_register.csv`. Rows are numbered as in
a spreadsheet, the header being row 1 (a CSV's line numbers; a Parquet file's record number + 1),
and columns by letter, so every problem names its file, cell, column and fix. Columns are found
by their label in any of the project's languages or by the field id, in any order; values are
read with the workbook reader's rules (codes or labels in any language, dates as dates or text).
CSV files may separate values with commas, semicolons or tabs, and be UTF-8 (Excel's "CSV
UTF-8"), UTF-16 (Excel's "Unicode text") or the Windows code page Excel's plain "CSV" is saved in
on the country's Windows (register_scan.encoding). A register may have up to
`participant_register.max_rows` rows (1,048,576, a full Excel sheet) in MAX_BYTES; a CSV or
Parquet file is read in bounded time and memory by pipelines/intake/register_scan.py.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from pipelines.declaration.registry import Registry
from pipelines.intake import container, ods, read, register_scan
from pipelines.intake import findings as F

SUFFIXES = (".csv", ".parquet")  # always registers; an .xlsx is one when its name says so
NAME = re.compile(r"(?:^|[_\-. ])([A-Za-z]{2})_(\d{4}-[Qq][1-4])[_\-. ]register\.(csv|parquet|xlsx)$",
                  re.IGNORECASE)
MAX_BYTES = register_scan.MAX_BYTES
# a register workbook may be far larger than a quarterly one; the zip-bomb ratio still holds
MAX_XLSX_UNPACKED = 2 * 1024 * 1024 * 1024


@dataclass
class Register:
    """A read register; `id` is the sha256 of its file (or of the workbook carrying the sheet)."""

    id: str
    path: Path
    size: int
    kind: str  # sheet | csv | parquet | xlsx
    name: str  # the sheet's or the file's name, as findings name it
    country: str = ""
    quarter: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    columns: dict[str, str] = field(default_factory=dict)  # field -> column letter
    findings: list[F.Finding] = field(default_factory=list)
    submission_id: str | None = None  # the workbook it came in, for a sheet

    def cell(self, field_id: str, row: int | None = None) -> str:
        letter = self.columns.get(field_id, "")
        return f"{letter}{row}" if letter and row else letter


def is_file(path: Path) -> bool:
    """Whether a file given to the ingest is a register file rather than a workbook."""
    return path.suffix.lower() in SUFFIXES or bool(NAME.search(path.name))


def from_book(book: read.ReadBook, registry: Registry) -> Register | None:
    """The register sheet of a read workbook, when it has one with rows."""
    if registry.participant_register is None:
        return None
    data = book.sheets.get(registry.participant_register.sheet.id)
    if data is None:
        return None
    return Register(book.sha256, book.path, book.size, "sheet", data.name, book.country, book.quarter,
                    data.frame, data.columns, submission_id=book.sha256)


def read_file(path: Path, registry: Registry, data: bytes | None = None) -> Register:
    """Read a register file; problems are collected in `findings`, never raised."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    reg = Register(hashlib.sha256(data).hexdigest(), path, len(data), path.suffix.lower().lstrip("."),
                   path.name)
    if registry.participant_register is None:
        reg.findings.append(F.error("no_registers", value=path.name))
        return reg
    tied = NAME.search(path.name)
    if not tied:
        reg.findings.append(F.error("register_name", value=path.name))
        return reg
    reg.country, reg.quarter = tied.group(1).upper(), tied.group(2).upper()
    if reg.country not in {c.code for c in registry.countries} or reg.quarter not in registry.quarters:
        reg.findings.append(F.error("register_name", value=path.name))
        return reg
    limit = registry.participant_register.max_rows
    if not data:
        reg.findings.append(F.error("empty"))
    elif len(data) > MAX_BYTES:
        reg.findings.append(F.error("register_too_large", sheet=path.name, size=f"{len(data) / 2**20:,.1f}",
                                    limit=f"{MAX_BYTES / 2**20:,.0f}"))
    elif reg.kind in ("xlsx", "ods"):
        _read_xlsx(reg, data, registry, limit)
    else:
        try:
            language = registry.country(reg.country).language
            with register_scan.Source(path, reg.kind, data, registry, language) as src:
                _read_columns(reg, src, registry, limit)
        except register_scan.Refused as refused:
            reg.findings.extend(refused.args[0])
    return reg


def _read_columns(reg: Register, src: register_scan.Source, registry: Registry, limit: int) -> None:
    """A CSV or Parquet register: its columns found by their header, its cells read, bounded."""
    sheet = registry.participant_register.sheet
    index = read._field_index(sheet, registry)
    columns, picked = {}, {}
    for number, text in enumerate(register_scan.header(src, limit)):
        f = index.get(read.normalise(text))
        letter = get_column_letter(number + 1)
        if f is None or f.id in columns:
            reg.findings.append(F.warning("ignored_column", sheet=src.name, value=text, cell=f"{letter}1"))
            continue
        columns[f.id], picked[f.id] = letter, number
    for f in sheet.fields:
        if f.id not in columns and f.required:
            reg.findings.append(F.error("missing_column", registry, sheet=src.name, sheet_id=sheet.id,
                                        field=f.id))
    frame = register_scan.cells(src, picked, limit)
    frame.index = range(2, 2 + len(frame))  # the header is row 1
    reg.columns = columns
    reg.frame = read.tidy(sheet, src.name, frame, columns, registry, reg.findings)


def _read_xlsx(reg: Register, data: bytes, registry: Registry, limit: int) -> None:
    """A register workbook (.xlsx, or .ods read as the .xlsx it stands for): its register sheet
    (by label) or else its first sheet."""
    if ods.is_ods(data):
        data, refused = ods.as_xlsx(data, MAX_XLSX_UNPACKED)
        reg.findings.extend(refused)
    reg.findings.extend(container.check(data, MAX_BYTES, MAX_XLSX_UNPACKED) if not reg.findings else [])
    if reg.findings:
        return
    sheet = registry.participant_register.sheet
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises its own error types for damaged files
        reg.findings.append(F.error("damaged"))
        return
    keys = {read.normalise(k) for k in read._sheet_keys(sheet, registry)}
    name = next((n for n in wb.sheet_names if read.normalise(n) in keys), wb.sheet_names[0])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            rows = read.Sheets(wb, archive).rows(name, limit + read.HEADER_SCAN_ROWS + 1,
                                                 read.register_columns(registry))
    except read.OutsideArea as far:
        reg.findings.append(far.finding())
        return
    del wb
    table = read._read_table(sheet, name, rows, registry, reg.findings, max_rows=limit)
    reg.name, reg.frame, reg.columns = f"{reg.path.name}: {name}", table.frame, table.columns

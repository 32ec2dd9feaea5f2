"""Read a partner workbook into tidy frames in which every value keeps its sheet and cell.

The reader is lenient where it is safe and says so where it is not:
- sheets and column headers are found by their label in any of the project's languages, or by
  the field id, so moved columns, translated templates and extra columns or sheets are fine;
- coded values are accepted as their code or their label in any language;
- whole numbers may be typed as text, with spaces, non-breaking spaces or thousands separators
  ("1 234", "1.234", "1,234"); a fraction in a whole-number field is an error, never rounded;
- dates may be real dates, Excel serial numbers or text as dd/mm/yyyy, dd.mm.yyyy, yyyy-mm-dd;
- blank rows are skipped; formulas are read by their cached value.
Anything that cannot be read becomes a finding with its sheet and cell; validation follows in
validate.py. The file is read with python-calamine after the container is checked (zip
directory, sizes, macros), so hostile files are refused before they are parsed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from pipelines import findings as F
from pipelines.registry import Registry, Sheet, SheetField
from pipelines.template import STAMP_SHEET

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, per zip entry larger than 1 MB
MAX_ROWS = 100_000
HEADER_SCAN_ROWS = 10
EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")


@dataclass
class SheetData:
    """One sheet: a frame with a column per field and `_row`, the Excel row of each record."""

    id: str
    name: str  # as named in the workbook
    frame: pd.DataFrame
    columns: dict[str, str] = field(default_factory=dict)  # field -> column letter (tables)
    cells: dict[str, str] = field(default_factory=dict)  # field -> cell address (forms)

    def cell(self, field_id: str, row: int | None = None) -> str:
        if field_id in self.cells:
            return self.cells[field_id]
        letter = self.columns.get(field_id, "")
        return f"{letter}{row}" if letter and row else letter


@dataclass
class ReadBook:
    path: Path
    sha256: str
    size: int
    stamp: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, SheetData] = field(default_factory=dict)
    findings: list[F.Finding] = field(default_factory=list)

    @property
    def cover(self) -> dict:
        frame = self.sheets["cover"].frame if "cover" in self.sheets else pd.DataFrame()
        return frame.iloc[0].to_dict() if len(frame) else {}

    @property
    def country(self) -> str:
        return str(self.cover.get("country") or self.stamp.get("country") or "")

    @property
    def quarter(self) -> str:
        return str(self.cover.get("quarter") or self.stamp.get("quarter") or "")


def normalise(text: object) -> str:
    text = str(text).replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip().rstrip("*:").strip().casefold()


def read(path: Path | str, registry: Registry) -> ReadBook:
    """Read a workbook; problems are collected in `findings`, never raised."""
    path = Path(path)
    data = path.read_bytes()
    book = ReadBook(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    book.findings.extend(check_container(data))
    if book.findings:
        return book
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for damaged files
        book.findings.append(
            F.error(
                "unreadable",
                f"The workbook cannot be opened ({exc}). "
                "Open it in Excel or LibreOffice and save it again as .xlsx.",
            )
        )
        return book
    names = {normalise(name): name for name in wb.sheet_names}
    if STAMP_SHEET in wb.sheet_names:
        rows = wb.get_sheet_by_name(STAMP_SHEET).to_python(nrows=20)
        book.stamp = {str(r[0]): F.show(r[1]) for r in rows if len(r) >= 2 and r[0]}
    for sheet in registry.template.sheets:
        name = next((names[k] for k in _sheet_keys(sheet, registry) if k in names), None)
        if name is None:
            book.findings.append(
                F.error(
                    "missing_sheet",
                    f"The sheet '{sheet.label('en')}' is missing. Use the template "
                    "downloaded for this quarter and keep its sheets.",
                    sheet=sheet.label("en"),
                )
            )
            continue
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=MAX_ROWS + 50)
        reader = _read_form if sheet.layout == "form" else _read_table
        book.sheets[sheet.id] = reader(sheet, name, rows, registry, book.findings)
    return book


def check_container(data: bytes) -> list[F.Finding]:
    """Refuse what is not a plain .xlsx before parsing it: wrong format, macros, zip bombs."""
    if not data:
        return [F.error("empty", "The file is empty. Upload the filled-in workbook.")]
    if len(data) > MAX_FILE_BYTES:
        return [
            F.error(
                "too_large",
                f"The file is {len(data) / 1e6:.1f} MB; the limit is "
                f"{MAX_FILE_BYTES / 1e6:.0f} MB. Remove pictures and unused sheets.",
            )
        ]
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return [
            F.error(
                "format",
                "This is a legacy .xls file or a password-protected workbook. "
                "Remove any password and save it as Excel Workbook (.xlsx).",
            )
        ]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [
            F.error(
                "format",
                "This is not an Excel workbook (.xlsx). Save the template as "
                "Excel Workbook (.xlsx), not as PDF, CSV or another format.",
            )
        ]
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        return [F.error("format", f"The workbook is damaged ({exc}). Save it again as .xlsx.")]
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        return [
            F.error(
                "format",
                "This zip file is not an Excel workbook. Upload the .xlsx template you filled in.",
            )
        ]
    if "xl/vbaProject.bin" in names:
        return [
            F.error(
                "macros",
                "The workbook contains macros. Save it as Excel Workbook (.xlsx), without macros.",
            )
        ]
    unpacked = sum(e.file_size for e in entries)
    bomb = any(
        e.file_size > 1_000_000 and e.file_size > MAX_RATIO * max(e.compress_size, 1)
        for e in entries
    )
    if unpacked > MAX_UNPACKED_BYTES or bomb or len(entries) > 10_000:
        return [
            F.error(
                "too_large",
                "The workbook expands to far more data than a quarterly "
                "report holds. Delete empty formatted rows and columns and save again.",
            )
        ]
    return []


def _sheet_keys(sheet: Sheet, registry: Registry) -> list[str]:
    return [normalise(sheet.id), *(normalise(sheet.label(lang)) for lang in registry.languages)]


def _field_index(sheet: Sheet, registry: Registry) -> dict[str, SheetField]:
    """Every spelling of every field's label, in every language, mapped to the field."""
    index = {}
    for f in sheet.fields:
        index[normalise(f.id)] = f
        for lang in registry.languages:
            index.setdefault(normalise(f.label(lang)), f)
    return index


def _read_form(
    sheet: Sheet, name: str, rows: list[list], registry: Registry, found: list[F.Finding]
) -> SheetData:
    """A form: a label in column A, its value in column B."""
    index = _field_index(sheet, registry)
    record, cells = {}, {}
    for number, row in enumerate(rows, start=1):
        f = index.get(normalise(row[0])) if row else None
        if f is None or f.id in cells:
            continue
        cells[f.id] = f"B{number}"
        record[f.id] = coerce(f, row[1] if len(row) > 1 else "", registry, name, cells[f.id], found)
    for f in sheet.fields:
        if f.id not in cells:
            found.append(
                F.error(
                    "missing_field",
                    f"The row '{f.label('en')}' is missing from the "
                    "cover. Use the template and keep its rows.",
                    sheet=name,
                )
            )
            record[f.id] = None
    frame = _typed(pd.DataFrame([{**record, "_row": 0}]), sheet)
    return SheetData(sheet.id, name, frame, cells=cells)


def _read_table(
    sheet: Sheet, name: str, rows: list[list], registry: Registry, found: list[F.Finding]
) -> SheetData:
    """A table: the header row is the one, among the first rows, naming the most fields."""
    index = _field_index(sheet, registry)
    best, header_at = {}, None
    for number, row in enumerate(rows[:HEADER_SCAN_ROWS], start=1):
        hits = {}
        for col, text in enumerate(row):
            f = index.get(normalise(text)) if text != "" else None
            if f is not None and f.id not in hits:
                hits[f.id] = col
        if len(hits) > len(best):
            best, header_at = hits, number
    missing = [f for f in sheet.fields if f.id not in best]
    for f in missing:
        found.append(
            F.error(
                "missing_column",
                f"The column '{f.label('en')}' is missing. Use the template and keep its columns.",
                sheet=name,
                cell=f"{header_at or 2}",
            )
        )
    records = []
    data_rows = rows[header_at:] if header_at else []
    if len(data_rows) > MAX_ROWS:
        found.append(
            F.error(
                "too_many_rows",
                f"The sheet has more than {MAX_ROWS:,} rows. Delete empty rows below your data.",
                sheet=name,
            )
        )
        data_rows = data_rows[:MAX_ROWS]
    for number, row in enumerate(data_rows, start=(header_at or 0) + 1):
        values = {fid: row[col] if col < len(row) else "" for fid, col in best.items()}
        if all(v is None or (isinstance(v, str) and normalise(v) == "") for v in values.values()):
            continue
        record = {"_row": number}
        for fid, raw in values.items():
            cell = f"{get_column_letter(best[fid] + 1)}{number}"
            record[fid] = coerce(sheet.field(fid), raw, registry, name, cell, found)
        records.append(record)
    frame = pd.DataFrame(records, columns=["_row", *(f.id for f in sheet.fields)])
    columns = {fid: get_column_letter(col + 1) for fid, col in best.items()}
    return SheetData(sheet.id, name, _typed(frame, sheet), columns=columns)


def _typed(frame: pd.DataFrame, sheet: Sheet) -> pd.DataFrame:
    """Integers as float (NaN when blank), dates as datetime64, everything else as text."""
    for f in sheet.fields:
        if f.id not in frame:
            frame[f.id] = None
        if f.type == "integer":
            frame[f.id] = pd.to_numeric(frame[f.id], errors="coerce").astype("float64")
        elif f.type == "date":
            frame[f.id] = pd.to_datetime(frame[f.id], errors="coerce")
        else:
            frame[f.id] = frame[f.id].astype("object")
    frame["_row"] = frame["_row"].astype("int64")
    return frame


def coerce(
    f: SheetField, raw: object, registry: Registry, sheet: str, cell: str, found: list[F.Finding]
) -> object:
    """One cell's value in the field's type; None when blank or unreadable (then a finding)."""
    if raw is None or (isinstance(raw, str) and normalise(raw) == ""):
        return None
    try:
        if f.type == "integer":
            return to_int(raw)
        if f.type == "date":
            return to_date(raw)
        if f.type == "choice":
            return to_code(raw, f.choices, registry)
        return to_text(raw)
    except ValueError as exc:
        found.append(
            F.error(
                "type",
                f"'{F.show(raw)}' in '{f.label('en')}' {exc}.",
                sheet=sheet,
                cell=cell,
                value=raw,
            )
        )
        return None


def to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("is not a number; enter a whole number such as 12")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError("is not a whole number; enter whole persons or items, without decimals")
    if isinstance(raw, (dt.date, dt.datetime)):
        raise ValueError("is a date; enter a whole number such as 12")
    text = re.sub(r"[\s\u00a0\u202f']", "", str(raw))
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text) and len(set(re.findall(r"[.,]", text))) == 1:
        return int(re.sub(r"[.,]", "", text))
    raise ValueError("is not a whole number; enter digits only, such as 1234")


def to_date(raw: object) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 1 <= raw < 2958466:
        return EXCEL_EPOCH + dt.timedelta(days=int(raw))
    text = normalise(raw)
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("is not a date; enter it as dd/mm/yyyy, e.g. 31/03/2022")


def to_code(raw: object, code_list: str, registry: Registry) -> str:
    """The code of a coded value typed as its code or as its label in any language."""
    key = normalise(raw)
    for code, labels in registry.code_lists[code_list].items():
        if key == normalise(code) or key in (normalise(label) for label in labels.values()):
            return code
    return to_text(raw)  # left as typed: validation reports it against the allowed values


def to_text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return re.sub(r"\s+", " ", str(raw).replace("\u00a0", " ")).strip()

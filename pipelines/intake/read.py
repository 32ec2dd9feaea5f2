"""Read a partner workbook into tidy frames in which every value keeps its sheet and cell.

The reader is lenient where it is safe and says so where it is not:
- sheets and column headers are found by their label in any of the project's languages, or by
  the field id, so moved columns and translated templates read right; extra columns and sheets
  are not read, and a warning says so;
- labels are compared as people type them: case, accents and repeated spaces are ignored
  ("ΣΥΝΟΛΟ" is "σύνολο", "Total général" is "total general", "OSSZESEN" is "Összesen"), for
  sheet names, column headers, coded values and totals rows alike (`normalise`);
- coded values are accepted as their code or their label in any language;
- whole numbers may be typed as text, with spaces, non-breaking spaces or thousands separators
  ("1 234", "1.234", "1,234"); a fraction in a whole-number field ("12,5") is an error, never
  rounded, and a number with mixed or irregular separators ("1.234,5", "1.2.3") is ambiguous;
- dates may be real dates, Excel serial numbers or text, day first as in Europe (never month
  first): 10/05/2022, 10.05.2022, 10-05-2022, 1.5.2022, 10/5/22 (a two-digit year is 20yy),
  10.05.2022 г.; or year first: 2022-05-10, 2022.05.10., 2022. 05. 10., 2022.5.10; surrounding
  spaces and a trailing dot are ignored. The form each language writes is shown in the
  template's help and in the fix of an unreadable date (pipelines/intake/messages.yaml);
- blank rows are skipped; a totals row (its first text says "Total" in any language) is
  skipped with a warning; formulas are read by their cached value, and a formula saved without
  one is an error; merged cells in the data area are an error.
Anything that cannot be read becomes a finding with its sheet and cell; validation follows in
validate.py. The file is read with python-calamine only after container.py has checked it, and
a sheet only once container.far_cell has found no value outside the area read (a sheet's grid
is allocated out to its farthest value): such a value is an error naming its cell, and the
workbook is not read further. Untrusted files are read in a child process with limits
(pipelines/intake/sandbox.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from openpyxl.utils import column_index_from_string, get_column_letter
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.declaration.registry import Registry, Sheet, SheetField
from pipelines.declaration.template import LISTS_SHEET, STAMP_SHEET
from pipelines.intake import container, ods
from pipelines.intake import findings as F
from pipelines.intake.book import ReadBook, SheetData

MAX_ROWS = 100_000
HEADER_SCAN_ROWS = 10
MAX_COLUMN = 104  # CZ: a template sheet's columns and the partner's notes beside them
STAMP_AREA = (26, 100)  # columns, rows of the hidden stamp sheet
MAX_CELLS_LISTED = 50  # unreadable cells listed per column; the rest are counted


class OutsideArea(Exception):
    """A sheet holds a value outside the area the reader may take; args: the sheet, the cell,
    the last column and row of the area."""

    def finding(self) -> F.Finding:
        sheet, cell, max_column, max_rows = self.args
        return F.error("outside_area", sheet=sheet, cell=cell, column=get_column_letter(max_column),
                       row=f"{max_rows:,}")
EXCEL_EPOCH = dt.date(1899, 12, 30)
BLANKS = " \t\r\n\u00a0\u202f"
# a date typed as text: day, month and year with one separator (".", "/" or "-"), each may be
# followed by a space; the Bulgarian "г." (year) and a closing dot may follow
DAY_FIRST = re.compile(r"(?P<day>[0-9]{1,2})(?P<sep>[./-]) ?(?P<month>[0-9]{1,2})(?P=sep) ?"
                       r"(?P<year>[0-9]{4}|[0-9]{2})(?: ?[гГ])?\.?")
YEAR_FIRST = re.compile(r"(?P<year>[0-9]{4})(?P<sep>[./-]) ?(?P<month>[0-9]{1,2})(?P=sep) ?"
                        r"(?P<day>[0-9]{1,2})\.?")


class Unreadable(ValueError):
    """A cell's text cannot be read in its field's type; args[0] is the finding's rule."""


def normalise(text: object) -> str:
    """A label as it is compared, the way people type it: accents and case ignored (Unicode
    compatibility decomposition without its combining marks, then case folding: "ΣΥΝΟΛΟ" is
    "σύνολο", "OSSZESEN" is "Összesen"), spaces of any kind collapsed and trimmed, a closing "*"
    or ":" dropped."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(bare.split()).rstrip("*:").strip()


def read(path: Path | str, registry: Registry, data: bytes | None = None) -> ReadBook:
    """Read a workbook (its bytes given, or read from `path`); problems are collected in
    `findings`, never raised."""
    path = Path(path)
    data = path.read_bytes() if data is None else data
    book = ReadBook(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    if ods.is_ods(data):  # read as the .xlsx it stands for; its own bytes stay its identity
        data, refused = ods.as_xlsx(data)
        book.converted = data
        book.findings.extend(refused)
    book.findings.extend(container.check(data) if not book.findings else [])
    if book.findings:
        return book
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises its own error types for damaged files
        book.findings.append(F.error("damaged"))
        return book
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _read_sheets(Sheets(wb, archive), data, book, registry)
    except OutsideArea as far:
        book.stamp, book.sheets, book.findings = {}, {}, [far.finding()]
    except (CalamineError, DefusedXmlException, ParseError):
        # a part that passed the container checks but cannot be parsed (an altered or hand-made
        # file): the workbook is damaged as a whole, like one calamine cannot open
        book.stamp, book.sheets, book.findings = {}, {}, [F.error("damaged")]
    return book


class Sheets:
    """A workbook's sheets by name, each read only when it holds nothing outside its area."""

    def __init__(self, wb: CalamineWorkbook, archive: zipfile.ZipFile):
        self.wb, self.archive = wb, archive
        self.names = wb.sheet_names
        self.parts = container.sheet_parts(archive)

    def rows(self, name: str, max_rows: int, max_column: int = MAX_COLUMN) -> list[list]:
        """The sheet's first `max_rows` rows; OutsideArea if a value lies past `max_rows` or
        `max_column`."""
        if far := container.far_cell(self.archive, self.parts.get(name), max_column, max_rows):
            raise OutsideArea(name, far, max_column, max_rows)
        return self.sheet(name).to_python(skip_empty_area=False, nrows=max_rows)

    def sheet(self, name: str):
        return self.wb.get_sheet_by_name(name)


def in_sandbox(path: Path, registry: Registry) -> ReadBook:
    """`read` in a sandboxed child process (pipelines/intake/sandbox.py): an untrusted file can't stop
    the caller; one the child could not read within its limits gets the finding "unreadable"."""
    from pipelines.intake import sandbox

    try:
        return sandbox.run(read, path, registry, timeout=sandbox.seconds_for(path.stat().st_size))
    except sandbox.Refused as refused:
        return unreadable(path, str(refused))


def unreadable(path: Path, reason: str) -> ReadBook:
    """What is known of a file that could not be read within the limits: its hash, size and why."""
    data = path.read_bytes()
    return ReadBook(path, hashlib.sha256(data).hexdigest(), len(data),
                    findings=[F.error("unreadable", reason=reason)])


def _read_sheets(wb: Sheets, data: bytes, book: ReadBook, registry: Registry) -> None:
    """The stamp and every template sheet into `book`, with the reader's findings."""
    if STAMP_SHEET in wb.names:
        rows = wb.rows(STAMP_SHEET, STAMP_AREA[1], STAMP_AREA[0])
        book.stamp = {str(r[0]): F.show(r[1]) for r in rows[:20] if len(r) >= 2 and r[0]}
    names = {normalise(name): name for name in wb.names}
    found_names = {}
    for sheet in registry.template.sheets:
        name = next((names[k] for k in _sheet_keys(sheet, registry) if k in names), None)
        if name is None:
            expected = sheet.label(book.stamp.get("language", "en"))
            book.findings.append(F.error("missing_sheet", registry, sheet=expected, sheet_id=sheet.id))
            continue
        found_names[name] = sheet
        rows = wb.rows(name, MAX_ROWS + HEADER_SCAN_ROWS + 1)
        reader = _read_form if sheet.layout == "form" else _read_table
        data_sheet = reader(sheet, name, rows, registry, book.findings)
        book.findings.extend(_merged(wb.sheet(name), data_sheet, registry))
        book.sheets[sheet.id] = data_sheet
        if sheet.layout == "form":
            book.cover_id = sheet.id
    _read_register_sheet(wb, names, found_names, book, registry)
    book.findings.extend(_formulas(data, found_names, book, registry))
    book.findings.extend(_ignored_sheets(wb.names, found_names, registry))


def _read_register_sheet(wb: Sheets, names: dict[str, str], found_names: dict[str, Sheet],
                         book: ReadBook, registry: Registry) -> None:
    """The participant register, an optional sheet: read when it is there and has rows."""
    if registry.participant_register is None:
        return
    sheet = registry.participant_register.sheet
    name = next((names[k] for k in _sheet_keys(sheet, registry) if k in names), None)
    if name is None:
        return
    found_names[name] = sheet
    rows = wb.rows(name, MAX_ROWS + HEADER_SCAN_ROWS + 1, register_columns(registry))
    data_sheet = _read_table(sheet, name, rows, registry, book.findings)
    if len(data_sheet.frame):
        book.sheets[sheet.id] = data_sheet


def _ignored_sheets(all_names: list[str], used: dict, registry: Registry) -> list[F.Finding]:
    """Sheets neither read nor the template's own (instructions, stamp, lists) nor the findings
    sheet of a marked copy sent back after fixing: a warning each."""
    from pipelines.intake.annotate import findings_titles

    own = {normalise(n) for n in (STAMP_SHEET, LISTS_SHEET, *registry.template.instructions_title.values(),
                                  *findings_titles())}
    return [F.warning("ignored_sheet", value=name) for name in all_names
            if name not in used and normalise(name) not in own]


def register_columns(registry: Registry) -> int:
    """How far right a participant register sheet is read: its fields and as many again."""
    register = registry.participant_register
    return 2 * len(register.sheet.fields) + 4 if register else MAX_COLUMN


def _merged(ws, data: SheetData, registry: Registry) -> list[F.Finding]:
    """Merged cells where values are read: they hide which cell holds a value. Ranges are
    compared by their corners, never cell by cell (one range may span the whole sheet)."""
    out = []
    read_cells = [_coordinates(cell) for cell in data.cells.values()]
    for (r0, c0), (r1, c1) in ws.merged_cell_ranges or []:
        if data.cells:
            hit = any(r0 <= r <= r1 and c0 <= c <= c1 for r, c in read_cells)
        else:
            hit = r1 + 1 >= data.first_row
        if hit:
            first, last = f"{get_column_letter(c0 + 1)}{r0 + 1}", f"{get_column_letter(c1 + 1)}{r1 + 1}"
            out.append(F.error("merged_cells", registry, sheet=data.name, cell=first,
                               value=f"{first}:{last}", sheet_id=data.id))
    return out


def _coordinates(cell: str) -> tuple[int, int]:
    """"B7" -> (6, 1): zero-based row and column, as calamine gives merged ranges."""
    letters, row = re.match(r"([A-Z]+)(\d+)", cell).groups()
    return int(row) - 1, column_index_from_string(letters) - 1


def _formulas(data: bytes, sheets: dict[str, Sheet], book: ReadBook,
              registry: Registry) -> list[F.Finding]:
    """Formulas saved without a calculated value, in the cells the reader uses."""
    out = []
    for name, cells in container.formulas_without_value(data, list(sheets)).items():
        read_sheet = book.sheets.get(sheets[name].id)
        for cell in cells:
            if read_sheet and _is_read(read_sheet, cell):
                out.append(F.error("formula_without_value", registry, sheet=name, cell=cell,
                                   sheet_id=sheets[name].id))
    return out


def _is_read(data: SheetData, cell: str) -> bool:
    """Whether the reader takes a value from this cell: a form's value cells, a table's columns."""
    if data.cells:
        return cell in data.cells.values()
    letters, row = re.match(r"([A-Z]+)(\d+)", cell).groups()
    return letters in data.columns.values() and int(row) >= data.first_row


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
        raw = row[1] if len(row) > 1 else ""
        record[f.id] = coerce(sheet, f, raw, registry, name, cells[f.id], found)
    for f in sheet.fields:
        if f.id not in cells:
            found.append(F.error("missing_row", registry, sheet=name, sheet_id=sheet.id, field=f.id))
            record[f.id] = None
    frame = _typed(pd.DataFrame([{**record, "_row": 0}]), sheet)
    return SheetData(sheet.id, name, frame, cells=cells)


def _read_table(
    sheet: Sheet, name: str, rows: list[list], registry: Registry, found: list[F.Finding],
    max_rows: int = MAX_ROWS,
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
    for f in sheet.fields:
        if f.id not in best and f.required:  # an optional column may be left out
            found.append(F.error("missing_column", registry, sheet=name, sheet_id=sheet.id, field=f.id))
    header = rows[header_at - 1] if header_at else []
    used = set(best.values())
    for col, text in enumerate(header):
        if col not in used and normalise(text):
            found.append(F.warning("ignored_column", sheet=name, value=text,
                                   cell=f"{get_column_letter(col + 1)}{header_at}"))
    data_rows = rows[header_at:] if header_at else []
    if len(data_rows) > max_rows:
        found.append(F.error("too_many_rows", sheet=name, limit=f"{max_rows:,}"))
        data_rows = data_rows[:max_rows]
    first = (header_at or 0) + 1
    raw = pd.DataFrame({fid: [r[col] if col < len(r) else "" for r in data_rows]
                        for fid, col in best.items()},
                       index=range(first, first + len(data_rows)), dtype=object)
    columns = {fid: get_column_letter(col + 1) for fid, col in best.items()}
    return SheetData(sheet.id, name, tidy(sheet, name, raw, columns, registry, found), columns=columns,
                     first_row=first)


def tidy(sheet: Sheet, name: str, raw: pd.DataFrame, columns: dict[str, str], registry: Registry,
         found: list[F.Finding]) -> pd.DataFrame:
    """Cells as read (a column per field, indexed by row number) to typed values: blank and
    totals rows skipped, each value converted to its field's type or reported at its cell."""
    blank = pd.DataFrame({fid: raw[fid].isin([v for v in pd.unique(raw[fid]) if _is_blank(v)])
                          for fid in raw.columns}, index=raw.index)
    raw = raw[~blank.all(axis=1)]
    raw = raw[~_totals(raw, sheet, registry, name, found)]
    frame = pd.DataFrame({"_row": raw.index}, index=raw.index)
    for fid, letter in columns.items():
        frame[fid] = _column(sheet, sheet.field(fid), raw[fid], registry, name, letter, found)
    frame = frame.reset_index(drop=True).reindex(columns=["_row", *(f.id for f in sheet.fields)])
    return _typed(frame, sheet)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip(BLANKS))


def _totals(raw: pd.DataFrame, sheet: Sheet, registry: Registry, name: str,
            found: list[F.Finding]) -> pd.Series:
    """Rows whose text says "Total" (in any language): skipped, with a warning."""
    words = {normalise(w) for w in registry.template.total_labels}
    texts = [fid for fid in raw.columns if sheet.field(fid).type in ("text", "choice")]
    hit = pd.Series(False, index=raw.index)
    for fid in texts:
        said = [v for v in pd.unique(raw[fid]) if isinstance(v, str) and normalise(v) in words]
        hit |= raw[fid].isin(said)
    for number in raw.index[hit]:
        found.append(F.warning("totals_row", sheet=name, cell=f"A{number}"))
    return hit


def _column(sheet: Sheet, f: SheetField, raw: pd.Series, registry: Registry, name: str, letter: str,
            found: list[F.Finding]) -> pd.Series:
    """A column in its field's type, converting each distinct value once (fast on large sheets)."""
    converted, failed = {}, {}
    for value in pd.unique(raw):
        try:
            converted[value] = None if _is_blank(value) else convert(f, value, registry)
        except Unreadable as exc:
            converted[value], failed[value] = None, exc.args[0]
    if failed:
        bad = raw[raw.isin(list(failed))]
        for number, value in bad.iloc[:MAX_CELLS_LISTED].items():
            found.append(F.error(failed[value], registry, sheet=name, cell=f"{letter}{number}", value=value,
                                 sheet_id=sheet.id, field=f.id))
        if len(bad) > MAX_CELLS_LISTED:  # a whole column typed wrong: counted, not listed
            rest, count = bad.index[MAX_CELLS_LISTED], f"{len(bad) - MAX_CELLS_LISTED:,}"
            found.append(F.error("more_cells", registry, sheet=name, cell=f"{letter}{rest}",
                                 sheet_id=sheet.id, field=f.id, count=count))
    return raw.map(converted)


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


def convert(f: SheetField, raw: object, registry: Registry) -> object:
    """A non-blank cell's value in the field's type, or Unreadable with the finding's rule."""
    if f.type == "integer":
        return to_int(raw)
    if f.type == "date":
        return to_date(raw)
    if f.type == "choice":
        return to_code(raw, f.choices, registry)
    return to_text(raw)


def coerce(sheet: Sheet, f: SheetField, raw: object, registry: Registry, name: str, cell: str,
           found: list[F.Finding]) -> object:
    """One cell's value in the field's type; None when blank or unreadable (then a finding)."""
    if _is_blank(raw):
        return None
    try:
        return convert(f, raw, registry)
    except Unreadable as exc:
        found.append(F.error(exc.args[0], registry, sheet=name, cell=cell, value=raw,
                             sheet_id=sheet.id, field=f.id))
        return None


def to_int(raw: object) -> int:
    if isinstance(raw, bool) or isinstance(raw, (dt.date, dt.datetime)):
        raise Unreadable("not_a_number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise Unreadable("not_whole")
    text = re.sub(r"[\s\u00a0\u202f']", "", str(raw))
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text) and len(set(re.findall(r"[.,]", text))) == 1:
        return int(re.sub(r"[.,]", "", text))  # thousands separators: "1.234", "1,234"
    if re.fullmatch(r"\d+[.,]\d{1,2}", text):
        raise Unreadable("not_whole")  # "12,5", "3.25": a fraction
    if re.fullmatch(r"[\d.,]+", text):
        raise Unreadable("ambiguous_number")  # "1.234,5", "12.34.5"
    raise Unreadable("not_a_number")


def to_date(raw: object) -> dt.date:
    """A date given as a date, an Excel serial number or text (`_date_text`)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 1 <= raw < 2958466:
        return EXCEL_EPOCH + dt.timedelta(days=int(raw))
    return _date_text(str(raw))


def _date_text(text: str) -> dt.date:
    """A date typed as text, day first ("10/05/2022", "1.5.2022", "10/5/22", "10.05.2022 г.") or
    year first ("2022-05-10", "2022. 05. 10."), never month first; a two-digit year is 20yy.
    Anything else, or a day that does not exist, is Unreadable("not_a_date")."""
    text = " ".join(text.split())
    found = DAY_FIRST.fullmatch(text) or YEAR_FIRST.fullmatch(text)
    if found is None:
        raise Unreadable("not_a_date")
    year = int(found["year"]) + (2000 if len(found["year"]) == 2 else 0)
    try:
        return dt.date(year, int(found["month"]), int(found["day"]))
    except ValueError:
        raise Unreadable("not_a_date") from None


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

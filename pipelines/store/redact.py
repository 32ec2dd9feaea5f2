"""The copy of a workbook the monitor keeps when it carries a participant register sheet.

Accepted and rejected workbooks are kept byte for byte, except that the participant codes of a
register sheet must never be stored: the kept copy has the register sheet emptied, and the
shared strings only that sheet used (the codes, among others) blanked, every other part and
string as received. It is still named by the sha256 of the file received; the register's rows
are in the database, pseudonymised.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

from pipelines.intake import container, ods

SHARED_CELL = re.compile(rb'<c [^>]*t="s"[^>]*>\s*<v>(\d+)</v>')
SHARED_ITEM = re.compile(rb"<si>.*?</si>|<si/>", re.DOTALL)
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b"<sheetData/></worksheet>")


def keep(source: Path, target: Path, register_sheet: str | None) -> None:
    """Copy a received workbook to where it is kept, its register sheet (if any) emptied."""
    if register_sheet is None:
        shutil.copyfile(source, target)
    else:
        target.write_bytes(without_sheet(source.read_bytes(), register_sheet))


def without_sheet(data: bytes, sheet_name: str) -> bytes:
    """The workbook's bytes with one sheet emptied and the shared strings only it used blanked;
    an .ods is kept as the .xlsx it was read as (pipelines/intake/ods.py), without that sheet."""
    if ods.is_ods(data):
        data, _refused = ods.as_xlsx(data)  # it was read, so it converts
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = container.sheet_parts(source)
        target = parts[sheet_name]
        elsewhere: set[bytes] = set()
        for name, part in parts.items():
            if name != sheet_name and part in source.namelist():
                elsewhere.update(SHARED_CELL.findall(source.read(part)))
        only_here = {int(i) for i in set(SHARED_CELL.findall(source.read(target))) - elsewhere}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as kept:
            for entry in source.infolist():
                body = source.read(entry)
                if entry.filename == target:
                    body = EMPTY_SHEET
                elif entry.filename == "xl/sharedStrings.xml" and only_here:
                    body = _blank(body, only_here)
                kept.writestr(entry, body)
    return out.getvalue()


def _blank(xml: bytes, indexes: set[int]) -> bytes:
    counter = iter(range(1 << 62))
    return SHARED_ITEM.sub(lambda m: b"<si><t></t></si>" if next(counter) in indexes else m.group(0), xml)

"""OpenDocument spreadsheets (.ods, LibreOffice's own format), read as the .xlsx they stand for.

A partner who works in LibreOffice saves .ods by default. Such a file is checked as a workbook is
(size, zip bombs, entries that lie about their size, XML declarations; macros: LibreOffice keeps
them under Basic/ or Scripts/), then python-calamine reads every sheet's values and they are
written into an .xlsx with the same sheets, in the same order and visibility, each value in the
same cell (openpyxl, write-only). The reader, its checks and the marked copy then take it as
any workbook. The bytes received (the .ods) stay the file's identity (its sha256) and are the
ones kept. Formatting is not carried over: nothing of it is read.
"""

from __future__ import annotations

import io
import zipfile

from pipelines.intake import container
from pipelines.intake import findings as F

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
MACROS = ("Basic/", "Scripts/")
MAX_CELLS = 5_000_000  # a quarterly workbook holds a few thousand; a register up to a million


def is_ods(data: bytes) -> bool:
    """Whether the bytes are an OpenDocument spreadsheet: a zip whose first entry, stored
    uncompressed, is `mimetype` saying so (as the OpenDocument standard requires)."""
    return data[:4] == b"PK\x03\x04" and data[30:38] == b"mimetype" \
        and data[38:38 + len(MIMETYPE)] == MIMETYPE


def as_xlsx(data: bytes, max_unpacked: int = container.MAX_UNPACKED_BYTES) -> tuple[bytes, list[F.Finding]]:
    """The .xlsx standing for an .ods (its bytes, no findings), or the findings refusing it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if any(name.startswith(MACROS) for name in archive.namelist()):
                return b"", [F.error("macros")]
            refused = container.zip_refusals(archive, max_unpacked)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        return b"", [F.error("damaged")]
    if refused:
        return b"", refused
    try:
        return _written(data), []
    except _TooLarge as far:
        from openpyxl.utils import get_column_letter

        from pipelines.intake.read import MAX_COLUMN, MAX_ROWS

        return b"", [F.error("outside_area", sheet=far.args[0], cell=far.args[1],
                             column=get_column_letter(MAX_COLUMN), row=f"{MAX_ROWS:,}")]
    except Exception:  # calamine raises its own error types for damaged files
        return b"", [F.error("damaged")]


class _TooLarge(Exception):
    """A sheet whose values spread over more than MAX_CELLS cells; args: the sheet, its farthest cell."""


def _written(data: bytes) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    source = CalamineWorkbook.from_filelike(io.BytesIO(data))
    target = Workbook(write_only=True)
    for meta in source.sheets_metadata:
        sheet = source.get_sheet_by_name(meta.name)
        if sheet.height * sheet.width > MAX_CELLS:
            raise _TooLarge(meta.name, f"{get_column_letter(min(sheet.width, 16384))}{sheet.height}")
        written = target.create_sheet(meta.name)
        if meta.visible != SheetVisibleEnum.Visible:
            written.sheet_state = "hidden"
        for row in sheet.to_python(skip_empty_area=False):
            written.append([None if value == "" else value for value in row])
    buffer = io.BytesIO()
    target.save(buffer)
    return buffer.getvalue()

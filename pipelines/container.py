"""The .xlsx file as a zip of XML parts, checked before any parsing.

An uploaded file is untrusted: it is refused here, cheaply and in bounded time and memory,
when it is empty, too large, not a workbook (PDF, CSV, legacy .xls, a password-protected
workbook, any other zip), damaged, carries macros, declares XML entities (entity-expansion
bombs) or expands to far more than its size (zip bombs). It also finds formula cells saved
without a calculated value, which a reader would otherwise take for blanks.
"""

from __future__ import annotations

import io
import re
import zipfile
from posixpath import dirname, join, normpath

from defusedxml import ElementTree

from pipelines import findings as F

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 150 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for a zip entry larger than 1 MB
MAX_ENTRIES = 10_000
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and password-protected workbooks
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
CELL_START = re.compile(rb'<c r="([A-Z]{1,3}[0-9]+)"')


def check(data: bytes, max_bytes: int = MAX_FILE_BYTES,
          max_unpacked: int = MAX_UNPACKED_BYTES) -> list[F.Finding]:
    """Refuse what is not a plain, safe .xlsx; an empty list when the file may be parsed.

    The limits are those of a quarterly workbook unless given (a register workbook is larger)."""
    if not data:
        return [F.error("empty")]
    if len(data) > max_bytes:
        return [F.error("too_large", size=f"{len(data) / 1e6:.1f}", limit=f"{max_bytes / 1e6:.0f}")]
    if data[:8] == OLE2:
        return [F.error("legacy_xls")]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [F.error("damaged" if data[:4] == b"PK\x03\x04" else "not_xlsx")]  # a cut-off zip
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _check_entries(archive, max_unpacked)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        return [F.error("damaged")]


def _check_entries(archive: zipfile.ZipFile, max_unpacked: int) -> list[F.Finding]:
    entries = archive.infolist()
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return [F.error("not_xlsx")]
    content_types = archive.read("[Content_Types].xml")
    if "xl/vbaProject.bin" in names or b"macroEnabled" in content_types:
        return [F.error("macros")]
    unpacked = sum(e.file_size for e in entries)
    bomb = any(e.file_size > 1_000_000 and e.file_size > MAX_RATIO * max(e.compress_size, 1)
               for e in entries)
    if unpacked > max_unpacked or bomb or len(entries) > MAX_ENTRIES:
        return [F.error("zip_bomb")]
    for entry in entries:
        if _unsafe(archive, entry):
            return [F.error("damaged")]
    return []


def _unsafe(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
    """Read an entry to its end (zipfile checks its CRC there: a truncated or altered file is
    damaged); an XML part must not declare a DOCTYPE or entities anywhere."""
    xml = entry.filename.endswith((".xml", ".rels"))
    tail = b""
    with archive.open(entry) as part:
        while chunk := part.read(1 << 20):
            if xml and (b"<!DOCTYPE" in tail + chunk or b"<!ENTITY" in tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip path of its XML."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", NS)}
    parts = {}
    for sheet in book.findall("m:sheets/m:sheet", NS):
        target = targets.get(sheet.get(f"{{{NS['r']}}}id"), "")
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else \
            normpath(join(dirname("xl/workbook.xml"), target))
    return parts


def formulas_without_value(data: bytes, sheet_names: list[str]) -> dict[str, list[str]]:
    """Per sheet, the cells holding a formula saved without its calculated value."""
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = sheet_parts(archive)
        for name in sheet_names:
            xml = archive.read(parts[name]) if name in parts else b""
            cells = []
            for at in (m.start() for m in re.finditer(rb"<f[ >/]", xml)):
                start = xml.rfind(b"<c ", 0, at)
                end = xml.find(b"</c>", at)
                match = CELL_START.match(xml, start)
                if match and b"<v>" not in xml[at:end]:  # no value, or an empty <v/>
                    cells.append(match.group(1).decode())
            if cells:
                found[name] = cells
    return found

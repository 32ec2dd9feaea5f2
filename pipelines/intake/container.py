"""The .xlsx file as a zip of XML parts, checked before any parsing.

An uploaded file is untrusted: it is refused here, cheaply and in bounded time and memory,
when it is empty, too large, not a workbook (PDF, CSV, legacy .xls, a password-protected
workbook, any other zip), damaged, carries macros, declares XML entities (entity-expansion
bombs, in any of the encodings XML allows) or expands to far more than its size (zip bombs,
also those whose headers lie about the sizes: every entry is decompressed, counting, and must
give exactly the size and checksum its header says). Before a sheet is parsed, `far_cell`
finds any value outside the area a reader may take, so no reader ever allocates a sheet's grid
out to a stray cell at XFD1048576. It also finds formula cells saved without a calculated
value, which a reader would otherwise take for blanks.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import struct
import zipfile
import zlib
from posixpath import dirname, join, normpath

from pipelines.intake import findings as F

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 150 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for a zip entry larger than 1 MB
MAX_ENTRIES = 10_000
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and password-protected workbooks
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
CELL_START = re.compile(rb'<c r="([A-Z]{1,3}[0-9]+)"')
MB = 1024 * 1024  # sizes are told in MB of 1,048,576 bytes, as file managers on Windows do
# what must never appear in an XML part, in each encoding an XML parser accepts
DECLARATIONS = [text.encode(codec) for text in ("<!DOCTYPE", "<!ENTITY")
                for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")]
IRREGULAR_CELL = re.compile(rb'<c(?! r=")[\s/>]')  # a cell tag not opening with its reference
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length


def check(data: bytes, max_bytes: int = MAX_FILE_BYTES,
          max_unpacked: int = MAX_UNPACKED_BYTES) -> list[F.Finding]:
    """Refuse what is not a plain, safe .xlsx; an empty list when the file may be parsed.

    The limits are those of a quarterly workbook unless given (a register workbook is larger)."""
    refused = _outer(len(data), data[:8], io.BytesIO(data), max_bytes)
    if refused:
        return refused
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _check_entries(archive, max_unpacked)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        return [F.error("damaged")]


def check_file(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> list[F.Finding]:
    """The first of `check`'s refusals, from the file's size and its first and last bytes, the
    file not read whole: empty, too large, a legacy .xls, not a zip. Standard library only, so a
    command refuses such a file before importing what reading a workbook needs; an empty list
    when the file must go on to `check` (in the sandbox)."""
    with open(path, "rb") as handle:
        return _outer(os.fstat(handle.fileno()).st_size, handle.read(8), handle, max_bytes)


def _outer(size: int, head: bytes, file: io.IOBase, max_bytes: int) -> list[F.Finding]:
    """The refusals told by the size, the first 8 bytes and the end of central directory."""
    if not size:
        return [F.error("empty")]
    if size > max_bytes:
        over = math.ceil(size * 10 / MB) / 10  # rounded up: never shown as the limit itself
        return [F.error("too_large", size=f"{over:.1f}", limit=f"{max_bytes / MB:.0f}")]
    if head == OLE2:
        return [F.error("legacy_xls")]
    if not zipfile.is_zipfile(file):
        return [F.error("damaged" if head[:4] == b"PK\x03\x04" else "not_xlsx")]  # a cut-off zip
    return []


def _check_entries(archive: zipfile.ZipFile, max_unpacked: int) -> list[F.Finding]:
    entries = archive.infolist()
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return [F.error("not_xlsx")]
    content_types = archive.read("[Content_Types].xml")
    if "xl/vbaProject.bin" in names or b"macroEnabled" in content_types:
        return [F.error("macros")]
    return zip_refusals(archive, max_unpacked)


def zip_refusals(archive: zipfile.ZipFile, max_unpacked: int) -> list[F.Finding]:
    """What any zip of a spreadsheet (.xlsx or .ods) is refused for: a bomb, too many entries,
    an entry that lies about its size or carries XML declarations."""
    entries = archive.infolist()
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
    """Whether an entry lies or carries declarations: its stream is decompressed to its end in
    bounded steps and must give exactly the size and CRC of its header (a zip whose header
    claims less than it holds is a bomb for readers that trust the stream); an XML part must not
    declare a DOCTYPE or entities anywhere, in any encoding."""
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or entry.flag_bits & 1:
        return True  # what Excel and LibreOffice never write: other methods, encryption
    stream = _raw(archive, entry)
    inflate = zlib.decompressobj(-15) if entry.compress_type == zipfile.ZIP_DEFLATED else None
    xml = entry.filename.endswith((".xml", ".rels", ".vml"))
    size, crc, tail = 0, 0, b""
    while True:
        raw = stream.read(1 << 16) if inflate is None or not inflate.unconsumed_tail else b""
        chunk = raw if inflate is None else inflate.decompress(inflate.unconsumed_tail + raw, 1 << 20)
        if not chunk and (not raw or inflate is None):
            break
        size += len(chunk)
        if size > entry.file_size:
            return True
        crc = zlib.crc32(chunk, crc)
        if xml and any(d in tail + chunk for d in DECLARATIONS):
            return True
        tail = chunk[-64:]
    return size != entry.file_size or crc != entry.CRC or (inflate is not None and not inflate.eof)


def _raw(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> io.BytesIO:
    """An entry's compressed bytes, found from its local header as every zip reader finds them."""
    archive.fp.seek(entry.header_offset)
    signature, name_length, extra_length = LOCAL_HEADER.unpack(archive.fp.read(LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header")
    archive.fp.seek(name_length + extra_length, io.SEEK_CUR)
    return io.BytesIO(archive.fp.read(entry.compress_size))


def far_cell(archive: zipfile.ZipFile, part: str | None, max_column: int, max_row: int) -> str | None:
    """The first cell of a sheet's XML holding something beyond column `max_column` or row
    `max_row`, or None. Read in bounded chunks, never parsed: only value cells count (an empty
    formatted cell, `<c r="XFD9" s="1"/>`, holds nothing)."""
    if part is None or part not in archive.NameToInfo:
        return None
    usual, anywhere = _far_patterns(max_column, max_row)
    tail = b""
    with archive.open(part) as xml:
        while chunk := xml.read(1 << 20):
            text = tail + chunk
            found = usual.search(text) or (IRREGULAR_CELL.search(text) and anywhere.search(text))
            if found:
                return found.group(1).decode()
            tail = text[text.rfind(b"<"):] if b"<" in text[-512:] else b""
    return None


@functools.cache
def _far_patterns(max_column: int, max_row: int) -> tuple[re.Pattern, re.Pattern]:
    """A value cell (not self-closing) whose reference is past the column or the row: written as
    every spreadsheet program writes it (`<c r="..."`, fast to find), and in any other way."""
    ref = f"((?:{_letters_above(max_column)})[0-9]+|[A-Z]{{1,3}}(?:{_number_above(max_row)}))"
    return (re.compile(rf'<c r="{ref}"[^>]*?(?<!/)>'.encode()),
            re.compile(rf"""<c\b[^>]*?\br=["']{ref}["'][^>]*?(?<!/)>""".encode()))


def _letters_above(column: int) -> str:
    """A regular expression matching column letters (A, B, ..., XFD) after the `column`th."""
    from openpyxl.utils import get_column_letter  # openpyxl's import is slow: only when needed

    last = get_column_letter(column)
    options = [f"[A-Z]{{{len(last) + 1},3}}"] if len(last) < 3 else []
    for i, letter in enumerate(last):
        if letter < "Z":
            options.append(last[:i] + f"[{chr(ord(letter) + 1)}-Z]" + "[A-Z]" * (len(last) - i - 1))
    return "|".join(options)


def _number_above(number: int) -> str:
    """A regular expression matching whole numbers (no leading zero) greater than `number`."""
    digits = str(number)
    options = [f"[1-9][0-9]{{{len(digits)},}}"]
    for i, digit in enumerate(digits):
        if digit < "9":
            low = chr(ord(digit) + 1)
            options.append(digits[:i] + f"[{low}-9]" + "[0-9]" * (len(digits) - i - 1))
    return "|".join(options) + r"(?![0-9])"


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip path of its XML."""
    from defusedxml import ElementTree

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

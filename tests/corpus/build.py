"""A corpus of bad workbooks, made from the real template and demo workbooks, with the exact
errors each must give.

Every case is one file named after its id, made from a demo workbook (or from nothing, for
files that are not workbooks at all) by one maker, and the errors it must give as
(rule, sheet, cell): `sheet` is the sheet's name in the workbook's own language ("" for the
whole file), `cell` as the finding gives it. Only errors are listed; warnings do not reject a
file. A case that must be accepted without error lists none and says how many rows each sheet
it checks must read (`rows`).

Kinds: field (one cell's value), cover (cover and stamp), structure (sheets, columns, rows,
merged cells, formulas, references), hostile (files that are not a plain workbook), and
libreoffice (a bad workbook of another case saved again by headless LibreOffice). LibreOffice
keeps the `_stamp` sheet (as hidden, no longer very hidden: the reader finds it all the same),
merged cells, text typed in a date cell and the sheet names, so the errors are those of the
original; it calculates formulas and saves their values, so a formula without a value
is no longer one (that case is accepted).

A case with `bug` set is a known bug of pipelines/: its expected errors are the right ones,
not what the code gives today, and the tests mark it xfail(strict=True) with that reason.

    python tests/corpus/build.py OUT_DIR [DEMO_DIR]

writes the corpus and OUT_DIR/cases.json (the demo workbooks, seed 0, are generated when no
DEMO_DIR is given).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import PatternFill

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.declaration.registry import Registry  # noqa: E402
from pipelines.declaration.template import STAMP_SHEET  # noqa: E402
from pipelines.intake import container  # noqa: E402
from tests.workbooks import edited  # noqa: E402

Maker = Callable[["Context"], bytes]  # the bytes of the case's file


@dataclass
class Context:
    """What a maker works with: the case, its source demo workbook and the registry."""

    case: Spec
    registry: Registry
    demo_dir: Path
    scratch: Path  # a folder for intermediate files

    @property
    def source(self) -> Path:
        return self.demo_dir / self.case.source

    @property
    def lang(self) -> str:
        return self.registry.country(self.case.source[:2]).language

    def sheet(self, sheet_id: str) -> str:
        """The sheet's name in the source workbook's language."""
        return self.registry.sheet(sheet_id).label(self.lang)


@dataclass
class Spec:
    """One row of the case table."""

    id: str
    kind: str
    source: str  # demo workbook it is made from ("" when made from nothing)
    make: Maker | None  # None for a LibreOffice resave (see `of`)
    expected: list[tuple[str, str, str]]  # (rule, sheet id or "", cell) of each error
    suffix: str = ".xlsx"
    rows: dict[str, int] | None = None  # accepted without error: rows read per sheet id
    of: str = ""  # libreoffice: the case whose file is saved again
    bug: str = ""  # a known bug of pipelines/: why the code does not give `expected` today
    note: str = ""


@dataclass
class Case:
    """A built case: its file in the corpus folder and its expected errors, resolved."""

    id: str
    kind: str
    file: str
    source: str
    expected: list[tuple[str, str, str]]  # (rule, sheet name, cell), sorted
    rows: dict[str, int] | None = None
    bug: str = ""
    note: str = ""
    needs: str = ""  # "libreoffice" when the file exists only if LibreOffice is there
    made: bool = True  # False: not written (no LibreOffice, or it failed: see `error`)
    error: str = ""

    @property
    def accepted(self) -> bool:
        return not self.expected


# ---- makers: workbooks edited with openpyxl ---------------------------------------------------


def cells(edits: dict[tuple[str, str], object]) -> Maker:
    """The source with cells changed: {(sheet id or "_stamp", "B7"): value}."""

    def make(ctx: Context) -> bytes:
        named = {(ctx.sheet(s) if s != STAMP_SHEET else s, cell): v for (s, cell), v in edits.items()}
        return edited(ctx.source, ctx.scratch / f"{ctx.case.id}.xlsx", named).read_bytes()

    return make


def workbook(change: Callable[[Context, object], None]) -> Maker:
    """The source opened with openpyxl, changed by `change(ctx, wb)` and saved."""

    def make(ctx: Context) -> bytes:
        wb = load_workbook(ctx.source)
        change(ctx, wb)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    return make


def delete_sheet(sheet_id: str) -> Maker:
    def change(ctx, wb):
        del wb[ctx.sheet(sheet_id) if sheet_id != STAMP_SHEET else sheet_id]

    return workbook(change)


def delete_column(sheet_id: str, column: int) -> Maker:
    return workbook(lambda ctx, wb: wb[ctx.sheet(sheet_id)].delete_cols(column))


def delete_row(sheet_id: str, row: int) -> Maker:
    return workbook(lambda ctx, wb: wb[ctx.sheet(sheet_id)].delete_rows(row))


def merge(sheet_id: str, cell_range: str) -> Maker:
    return workbook(lambda ctx, wb: wb[ctx.sheet(sheet_id)].merge_cells(cell_range))


def formatted_rows(sheet_id: str, first: int, count: int) -> Maker:
    """Empty cells with a fill and a number format in column A, as a partner formats a column."""

    def change(ctx, wb):
        ws, fill = wb[ctx.sheet(sheet_id)], PatternFill("solid", fgColor="FFF2CC")
        for row in range(first, first + count):
            cell = ws.cell(row=row, column=1)
            cell.fill, cell.number_format = fill, "0.00"

    return workbook(change)


# ---- makers: the zip and its XML parts ----------------------------------------------------------


def zip_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {e.filename: archive.read(e) for e in archive.infolist()}


def to_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sheet_part(ctx: Context, sheet_id: str) -> str:
    """The zip path of a sheet's XML in the source workbook."""
    with zipfile.ZipFile(ctx.source) as archive:
        return container.sheet_parts(archive)[ctx.sheet(sheet_id)]


def parts(change: Callable[[Context, dict[str, bytes]], dict[str, bytes]]) -> Maker:
    """The source's zip entries changed by `change(ctx, entries)`, zipped again."""
    return lambda ctx: to_zip(change(ctx, zip_entries(ctx.source)))


def extra_entry(name: str, size: int, content: str, compression: int) -> Maker:
    """The source's zip with one more entry of `size` bytes: "zeros" or (seeded) "random"."""

    def make(ctx: Context) -> bytes:
        buffer = io.BytesIO(ctx.source.read_bytes())
        with zipfile.ZipFile(buffer, "a", compression) as archive:
            info = zipfile.ZipInfo(name, (2023, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with archive.open(info, "w") as out:
                chunk = 1 << 20
                rng = random.Random(7)
                for start in range(0, size, chunk):
                    n = min(chunk, size - start)
                    out.write(bytes(n) if content == "zeros" else rng.randbytes(n))
        return buffer.getvalue()

    return make


LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>")  # "billion laughs": &lol9; expands to 10^9 "lol"


def entity_bomb(where: str, padding: int = 0, use: bool = True) -> Maker:
    """A billion-laughs DOCTYPE put before the root of xl/workbook.xml ("workbook"), of the
    activities sheet ("sheet") or of xl/styles.xml ("styles"), after an XML comment of `padding`
    bytes; with `use`, an entity is referenced (a sheet name, or the first data cell's text)."""

    def change(ctx: Context, entries: dict[str, bytes]) -> dict[str, bytes]:
        target = {"workbook": "xl/workbook.xml", "styles": "xl/styles.xml"}.get(where) or \
            sheet_part(ctx, "activities")
        body = entries[target]
        if use and where == "workbook":
            body = body.replace(b'name="_lists"', b'name="&lol9;"', 1)
        elif use:
            cell = b'<c r="C3" t="inlineStr"><is><t>'
            body = body.replace(cell, cell + b"&lol9;", 1)
        assert not use or b"&lol9;" in body, f"no place to use the entity in {target}"
        comment = b"<!--" + b" " * padding + b"-->" if padding else b""
        entries[target] = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + comment + LAUGHS + body
        return entries

    return parts(change)


def with_macros(ctx: Context) -> bytes:
    """An .xlsm: a VBA project and the macro-enabled content type."""
    entries = zip_entries(ctx.source)
    entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    project = b'ID="{00000000-0000-0000-0000-000000000000}"\r\nModule=Module1\r\nName="VBAProject"\r\n'
    entries["xl/vbaProject.bin"] = compound_file({"PROJECT": project})
    return to_zip(entries)


def truncated(ctx: Context) -> bytes:
    data = ctx.source.read_bytes()
    return data[: len(data) // 2]


def altered_byte(ctx: Context) -> bytes:
    """The workbook stored without compression with one digit of a count changed in place: the
    entry's CRC no longer matches (a file altered on a disk or on its way)."""
    data = bytearray(to_zip(zip_entries(ctx.source), zipfile.ZIP_STORED))
    at = data.index(b'<c r="G3" t="n"><v>22</v>')
    data[at + 19: at + 21] = b"99"
    return bytes(data)


def cut_sheet_xml(ctx: Context) -> bytes:
    """The activities sheet's XML cut in the middle, zipped with a right CRC (a broken export)."""

    def change(ctx, entries):
        name = sheet_part(ctx, "activities")
        entries[name] = entries[name][: len(entries[name]) // 2]
        return entries

    return parts(change)(ctx)


# ---- makers: files built to exhaust a reader -------------------------------------------------------


def in_sheet(sheet_id: str, xml: bytes, before: bytes = b"</sheetData>") -> Maker:
    """The sheet's XML with `xml` inserted before `before` (its end, by default)."""

    def change(ctx, entries):
        name = sheet_part(ctx, sheet_id)
        assert before in entries[name], f"no {before!r} in {name}"
        entries[name] = entries[name].replace(before, xml + before, 1)
        return entries

    return parts(change)


def far_value(sheet_id: str, cell: str) -> Maker:
    """One text cell far away (the reader would allocate the grid out to it)."""
    row = "".join(ch for ch in cell if ch.isdigit())
    xml = f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row>'
    return in_sheet(sheet_id, xml.encode())


def merged_range(sheet_id: str, ref: str) -> Maker:
    """A merged range written into the XML (openpyxl would create a cell for each one it spans)."""
    return in_sheet(sheet_id, f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode(),
                    before=b"<pageMargins")


def unreferenced_cells(sheet_id: str, row: int, count: int) -> Maker:
    """A row of `count` text cells without their `r` reference (placed one after the other)."""
    cells = b'<c t="inlineStr"><is><t>x</t></is></c>' * count
    return in_sheet(sheet_id, b'<row r="%d">' % row + cells + b"</row>")


def utf16_declaration(ctx: Context) -> bytes:
    """xl/workbook.xml in UTF-16 with an entity declared (invisible to a search in UTF-8)."""
    entries = zip_entries(ctx.source)
    body = entries["xl/workbook.xml"].decode("utf-8").split("?>", 1)[-1]
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w [<!ENTITY e "x">]>' + body
    entries["xl/workbook.xml"] = text.encode("utf-16")
    return to_zip(entries)


def lying_sizes(ctx: Context) -> bytes:
    """The activities sheet's headers claim 1,000 bytes (with the checksum of its first 1,000),
    while its stream inflates to the whole sheet."""
    name = sheet_part(ctx, "activities")
    data = to_zip(zip_entries(ctx.source))
    body = zip_entries(ctx.source)[name]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    fields = struct.pack("<III", info.CRC, info.compress_size, info.file_size)
    lie = struct.pack("<III", zlib.crc32(body[:1000]), info.compress_size, 1000)
    assert data.count(fields) == 2, "the sizes are in the local header and the central directory"
    return data.replace(fields, lie)


def huge_shared_strings(count: int, length: int) -> Maker:
    """A shared-string table of `count` random strings of `length` characters, none used."""

    def change(ctx, entries):
        rng = random.Random(3)
        letters = "abcdefghijklmnopqrstuvwxyz"
        items = b"".join(b"<si><t>" + "".join(rng.choices(letters, k=length)).encode() + b"</t></si>"
                         for _ in range(count))
        entries["xl/sharedStrings.xml"] = (
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" '
            b'uniqueCount="%d">' % (count, count) + items + b"</sst>")
        entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>", b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
            b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        return entries

    return parts(change)


def many_sheets(count: int) -> Maker:
    """`count` more (empty) sheets."""

    def change(ctx, entries):
        sheets, rels, types = [], [], []
        for n in range(1, count + 1):
            entries[f"xl/worksheets/extra{n}.xml"] = EMPTY_SHEET
            sheets.append(b'<sheet name="Extra %d" sheetId="%d" r:id="rIdX%d"/>' % (n, 1000 + n, n))
            rels.append(b'<Relationship Id="rIdX%d" Type="http://schemas.openxmlformats.org/officeDocument/'
                        b'2006/relationships/worksheet" Target="worksheets/extra%d.xml"/>' % (n, n))
            types.append(b'<Override PartName="/xl/worksheets/extra%d.xml" ContentType="application/'
                         b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % n)
        entries["xl/workbook.xml"] = entries["xl/workbook.xml"].replace(
            b"</sheets>", b"".join(sheets) + b"</sheets>")
        entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>", b"".join(rels) + b"</Relationships>")
        entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
            b"</Types>", b"".join(types) + b"</Types>")
        return entries

    return parts(change)


def deep_nesting(depth: int) -> Maker:
    """An extension element nested `depth` levels deep at the end of the activities sheet."""
    nested = b'<x:a xmlns:x="urn:nested">' + b"<x:a>" * depth + b"</x:a>" * (depth + 1)
    return in_sheet(ACT, b'<extLst><ext uri="urn:nested">' + nested + b"</ext></extLst>",
                    before=b"</worksheet>")


EMPTY_SHEET = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b"<sheetData/></worksheet>")


# ---- makers: files that are not workbooks --------------------------------------------------------


def constant(data: bytes) -> Maker:
    return lambda ctx: data


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
       b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")


def csv_of_activities(ctx: Context) -> bytes:
    """The activities sheet as Excel's "CSV UTF-8 (semicolon)" would save it."""
    ws = load_workbook(ctx.source, read_only=True)[ctx.sheet("activities")]
    lines = [";".join("" if v is None else str(v) for v in row)
             for row in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in row)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def ods(ctx: Context) -> bytes:
    """An OpenDocument spreadsheet (LibreOffice's own format) without a sheet, renamed .xlsx: read
    as the spreadsheet it is, whatever its name, it lacks every sheet of the template."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                         'opendocument:xmlns:manifest:1.0"/>', zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:names:tc:'
                         'opendocument:xmlns:office:1.0"/>', zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def legacy_xls(ctx: Context) -> bytes:
    """A compound file (the container of .xls) with a Workbook stream: only its signature matters."""
    return compound_file({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + bytes(504)})


def encrypted(ctx: Context) -> bytes:
    """A password-protected .xlsx as Excel writes it (agile encryption): a compound file with an
    EncryptionInfo stream (its XML descriptor) and an EncryptedPackage stream (the workbook's size,
    then AES-encrypted bytes, here random bytes of the right length). msoffcrypto-tool is not
    installed, so the encryption itself is not real; the container is."""
    rng = random.Random(11)

    def b64(n: int) -> str:
        return base64.b64encode(rng.randbytes(n)).decode()

    cipher = 'blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" ' \
             'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"'
    descriptor = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
        'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        f'<keyData saltSize="16" {cipher} saltValue="{b64(16)}"/>'
        f'<dataIntegrity encryptedHmacKey="{b64(64)}" encryptedHmacValue="{b64(64)}"/>'
        '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        f'<p:encryptedKey spinCount="100000" saltSize="16" {cipher} saltValue="{b64(16)}" '
        f'encryptedVerifierHashInput="{b64(16)}" encryptedVerifierHashValue="{b64(64)}" '
        f'encryptedKeyValue="{b64(32)}"/></keyEncryptor></keyEncryptors></encryption>').encode()
    info = (struct.pack("<HHI", 4, 4, 0x40) + descriptor).ljust(4096, b" ")  # see compound_file
    size = ctx.source.stat().st_size
    package = struct.pack("<Q", size) + rng.randbytes(math.ceil(size / 4096) * 4096)
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": package})


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding these streams.

    Each stream is padded with NULs to the 4096-byte mini-stream cutoff (a smaller stream would
    have to live in a mini stream), so all live in regular sectors; the directory lists them as a
    chain of right siblings, in the order of the format (by name length, then name).
    """
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    counts = [math.ceil(len(d) / 512) for d in datas]
    dir_sectors = math.ceil((len(names) + 1) / 4)
    fat_count = 1
    while fat_count * 128 < fat_count + dir_sectors + sum(counts):
        fat_count += 1
    assert fat_count <= 109, "too large for a header-only FAT"
    fat = [fat_sector] * fat_count
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(dir_sectors - 1)] + [end]
    starts = []
    for count in counts:
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end]
    fat += [free] * (fat_count * 128 - len(fat))

    def entry(name: str, kind: int, start: int, size: int, child: int = no_stream,
              right: int = no_stream, color: int = 1) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, color)
                + struct.pack("<III", no_stream, right, child) + bytes(16 + 4 + 16)
                + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, end, 0, child=1)
    for i, name in enumerate(names, start=1):
        directory += entry(name, 2, starts[i - 1], len(datas[i - 1]),
                           right=i + 1 if i < len(names) else no_stream)
    empty = b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", no_stream, no_stream, no_stream) \
        + bytes(36) + struct.pack("<IQ", 0, 0)
    directory = directory.ljust(dir_sectors * 512, b"\0")
    directory = b"".join(directory[i:i + 128] if any(directory[i:i + 128]) else empty
                         for i in range(0, len(directory), 128))
    header = (container.OLE2 + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, fat_count, first_dir, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", *(list(range(fat_count)) + [free] * (109 - fat_count))))
    sectors = b"".join(d.ljust(c * 512, b"\0") for d, c in zip(datas, counts, strict=True))
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + sectors


# ---- the case table ----------------------------------------------------------------------------

BG, GR, FR, AT, IT, HU, RO = ("BG_2022-Q3.xlsx", "GR_2022-Q4.xlsx", "FR_2023-Q1.xlsx", "AT_2022-Q3.xlsx",
                              "IT_2023-Q2.xlsx", "HU_2023-Q1.xlsx", "RO_2022-Q4.xlsx")
ACT, CNC, AUT, OUT, COV = "activities", "councils", "authorities", "outreach", "cover"
WHOLE = ("", "")  # a finding on the whole file
TEMPLATE_SHEETS = ("cover", "councils", "authorities", "activities", "outreach")  # the ids of its sheets
MB = 1 << 20

def spec(id: str, source: str, make: Maker | None, *expected: tuple[str, str, str], **options) -> Spec:
    kind = options.pop("kind", "field")
    return Spec(id, kind, source, make, list(expected), **options)


def hostile(id: str, source: str, make: Maker, rule: str, **options) -> Spec:
    return Spec(id, "hostile", source, make, [(rule, *WHOLE)], **options)


def resave(id: str, of: str, **options) -> Spec:
    return Spec(id, "libreoffice", "", None, [], of=of, **options)


SPECS: list[Spec] = [
    # -- one cell's value ------------------------------------------------------------------
    spec("required_activity_title", BG, cells({(ACT, "C4"): None}), ("required", ACT, "C4")),
    spec("required_cover_reported_by", AT, cells({(COV, "B6"): None}), ("required", COV, "B6")),
    spec("required_status_only_spaces", IT, cells({(CNC, "F3"): "\u00a0 "}), ("required", CNC, "F3"),
         note="a non-breaking space and a blank are an empty cell"),
    spec("allowed_activity_type", HU, cells({(ACT, "D5"): "Piknik"}), ("allowed", ACT, "D5")),
    spec("allowed_cover_country", BG, cells({(COV, "B3"): "XX"}),
         ("allowed", COV, "B3"), ("stamp_country", COV, "B3"), ("partner", COV, "B5")),
    spec("min_council_meetings", RO, cells({(CNC, "J3"): -2}), ("min", CNC, "J3")),
    spec("min_female_breaks_sum", AT, cells({(ACT, "H3"): -14}), ("min", ACT, "H3"), ("sum", ACT, "G3")),
    spec("not_whole_outreach", HU, cells({(OUT, "D4"): 1777.5}), ("not_whole", OUT, "D4")),
    spec("not_a_number_participants", BG, cells({(ACT, "G3"): "twenty-two"}), ("not_a_number", ACT, "G3")),
    spec("not_a_date_status_date", FR, cells({(CNC, "G3"): "janvier 2023"}), ("not_a_date", CNC, "G3")),
    spec("not_a_date_cover_no_such_day", RO, cells({(COV, "B8"): "31/02/2023"}), ("not_a_date", COV, "B8")),
    spec("ambiguous_number_outreach", AT, cells({(OUT, "D5"): "1.352,5"}), ("ambiguous_number", OUT, "D5")),
    spec("date_after_quarter_council", BG, cells({(CNC, "G3"): dt.datetime(2022, 10, 20)}),
         ("date_after_quarter", CNC, "G3")),
    spec("date_after_quarter_typed_text", FR, cells({(AUT, "F3"): "15/07/2023"}),
         ("date_after_quarter", AUT, "F3")),
    spec("date_before_quarter_end", GR, cells({(ACT, "E3"): dt.datetime(2022, 9, 10),
                                               (ACT, "F3"): dt.datetime(2022, 9, 10)}),
         ("date_before_quarter", ACT, "F3")),
    spec("unique_outreach_id", GR, cells({(OUT, "A4"): "GR-22Q4-O2"}),
         ("unique", OUT, "A3"), ("unique", OUT, "A4")),
    spec("sum_sex", FR, cells({(ACT, "I4"): 19}), ("sum", ACT, "G4")),
    spec("sum_age", HU, cells({(ACT, "L6"): 47}), ("sum", ACT, "G6")),
    spec("sum_both_breakdowns", RO, cells({(ACT, "G5"): 50}), ("sum", ACT, "G5"), ("sum", ACT, "G5"),
         note="one error per breakdown (sex, age), both on the total"),
    spec("not_above_female_members", IT, cells({(CNC, "I3"): 25}), ("not_above", CNC, "I3")),
    spec("not_above_third_country", AT, cells({(ACT, "O4"): 29}), ("not_above", ACT, "O4")),
    spec("not_above_reported_helpful", HU, cells({(ACT, "P3"): 48}), ("not_above", ACT, "P3")),
    spec("not_above_start_after_end", RO, cells({(ACT, "E4"): dt.datetime(2022, 11, 25)}),
         ("not_above", ACT, "E4")),
    # -- cover and stamp -------------------------------------------------------------------------
    spec("another_country_template", GR, cells({(COV, "B3"): "BG", (COV, "B5"): "Mission Wings Foundation"}),
         ("stamp_country", COV, "B3"), kind="cover",
         note="a Greek template filled in for Bulgaria, with a Bulgarian partner"),
    spec("stamp_quarter", RO, cells({(COV, "B4"): "2022-Q3"}), ("stamp_quarter", COV, "B4"), kind="cover"),
    spec("period_outside_project", AT, cells({(COV, "B4"): "2024-Q1"}),
         ("period", COV, "B4"), ("stamp_quarter", COV, "B4"), kind="cover"),
    spec("partner_unknown", HU, cells({(COV, "B5"): "Migszol"}), ("partner", COV, "B5"), kind="cover"),
    spec("template_version_old", BG, cells({(STAMP_SHEET, "B1"): "0.9"}), ("template_version", *WHOLE),
         kind="cover"),
    spec("template_version_unknown", FR, cells({(STAMP_SHEET, "B1"): "2.0"}), ("template_version", *WHOLE),
         kind="cover"),
    spec("missing_stamp", IT, delete_sheet(STAMP_SHEET), ("missing_stamp", *WHOLE), kind="cover"),
    # -- structure ----------------------------------------------------------------------------------
    spec("missing_sheet_authorities", IT, delete_sheet(AUT), ("missing_sheet", AUT, ""), kind="structure"),
    spec("missing_sheet_cover", HU, delete_sheet(COV), ("missing_sheet", COV, ""), kind="structure"),
    spec("missing_column_title", BG, delete_column(ACT, 3), ("missing_column", ACT, ""), kind="structure"),
    spec("missing_optional_column", FR, delete_column(ACT, 16), kind="structure",
         rows={ACT: 4}, note="an optional column may be left out"),
    spec("missing_row_reported_by", AT, delete_row(COV, 6), ("missing_row", COV, ""), kind="structure"),
    spec("merged_cells_data", BG, merge(ACT, "O3:P3"), ("merged_cells", ACT, "O3"), kind="structure"),
    spec("merged_dates", FR, merge(ACT, "E3:F3"), ("merged_cells", ACT, "E3"), ("required", ACT, "F3"),
         kind="structure", note="the merge empties F3"),
    spec("merged_title_row", HU, merge(ACT, "A1:P1"), kind="structure", rows={ACT: 4},
         note="merged cells above the data are fine"),
    spec("formula_without_value", BG, cells({(ACT, "G3"): "=H3+I3+J3"}),
         ("formula_without_value", ACT, "G3"), kind="structure"),
    spec("formula_without_value_optional", IT, cells({(ACT, "P3"): "=G3"}),
         ("formula_without_value", ACT, "P3"), kind="structure",
         note="a formula saved without its value is never read as a blank"),
    spec("formula_in_unread_column", AT, cells({(ACT, "Q3"): "=G3*2"}), kind="structure", rows={ACT: 2},
         note="a partner's helper column without a header is not read"),
    spec("unknown_reference_activity", BG, cells({(ACT, "B4"): "BG-C9"}), ("unknown_reference", ACT, "B4"),
         kind="structure"),
    spec("unknown_reference_authority", HU, cells({(AUT, "D3"): "HU-C7"}), ("unknown_reference", AUT, "D3"),
         kind="structure"),
    # -- hostile and broken files --------------------------------------------------------------
    hostile("empty", "", constant(b""), "empty"),
    hostile("pdf_renamed", "", constant(PDF), "not_xlsx"),
    hostile("csv_renamed", BG, csv_of_activities, "not_xlsx"),
    spec("ods_renamed", "", ods, *(("missing_sheet", s, "") for s in TEMPLATE_SHEETS), kind="hostile"),
    hostile("legacy_xls", "", legacy_xls, "legacy_xls", suffix=".xls"),
    hostile("encrypted", BG, encrypted, "legacy_xls",
            note="an OLE2 compound file with EncryptionInfo and EncryptedPackage streams"),
    hostile("macros_xlsm", BG, with_macros, "macros", suffix=".xlsm"),
    hostile("truncated_zip", BG, truncated, "damaged"),
    hostile("altered_byte", BG, altered_byte, "damaged"),
    hostile("sheet_xml_cut", BG, cut_sheet_xml, "damaged"),
    hostile("zip_bomb", BG, extra_entry("xl/media/image1.bin", 50 * MB, "zeros", zipfile.ZIP_DEFLATED),
            "zip_bomb"),
    hostile("too_large", BG, extra_entry("xl/media/image1.png", 22 * MB, "random", zipfile.ZIP_STORED),
            "too_large"),
    hostile("entity_bomb_workbook", BG, entity_bomb("workbook"), "damaged"),
    hostile("entity_bomb_sheet", BG, entity_bomb("sheet"), "damaged"),
    # "padded": the DOCTYPE comes after a 5,000-byte XML comment, past what container.check scans
    hostile("entity_bomb_padded_workbook", BG, entity_bomb("workbook", padding=5000), "damaged"),
    hostile("entity_bomb_padded_sheet", BG, entity_bomb("sheet", padding=5000), "damaged"),
    hostile("entity_decl_padded_workbook", BG, entity_bomb("workbook", padding=5000, use=False),
            "damaged"),
    hostile("entity_decl_padded_styles", BG, entity_bomb("styles", padding=5000, use=False),
            "damaged"),
    Spec("formatted_100k_empty_rows", "hostile", BG, formatted_rows(ACT, 3, 100_000), [], rows={ACT: 2},
         note="empty cells with a fill and a number format in A3:A100002"),
    spec("far_cell_activities", BG, far_value(ACT, "XFD1048576"), ("outside_area", ACT, "XFD1048576"),
         kind="hostile", note="one value in the last cell of the sheet: a grid of 17 billion cells"),
    spec("far_cell_cover", AT, far_value(COV, "A1048576"), ("outside_area", COV, "A1048576"), kind="hostile"),
    spec("far_column_outreach", HU, far_value(OUT, "ZZ3"), ("outside_area", OUT, "ZZ3"), kind="hostile"),
    spec("merged_to_the_end_activities", BG, merged_range(ACT, "D20:XFD1048576"),
         ("merged_cells", ACT, "D20"), kind="hostile", note="a merged range of 17 billion cells"),
    Spec("merged_to_the_end_cover", "hostile", FR, merged_range(COV, "D20:XFD1048576"), [], rows={COV: 1},
         note="outside the cells read: accepted, without expanding the range"),
    hostile("cells_without_reference", BG, unreferenced_cells(ACT, 5000, 16384), "unreadable",
            note="16,384 cells placed by order in row 5000: the sandbox's memory limit refuses it"),
    hostile("utf16_entity_declaration", BG, utf16_declaration, "damaged"),
    hostile("zip_headers_lie_about_sizes", BG, lying_sizes, "damaged"),
    Spec("huge_shared_strings", "hostile", RO, huge_shared_strings(500, 32_767), [], rows={ACT: 3},
         note="16 MB of 32,767-character strings, none used"),
    Spec("three_thousand_sheets", "hostile", IT, many_sheets(3000), [], rows={ACT: 1},
         note="3,000 empty sheets more: ignored, with a warning each"),
    Spec("deeply_nested_xml", "hostile", GR, deep_nesting(100_000), [], rows={ACT: 2},
         note="an extension nested 100,000 levels deep"),
    # -- saved again by LibreOffice --------------------------------------------------------------
    resave("lo_sum_sex", of="sum_sex"),
    resave("lo_template_version_old", of="template_version_old",
           note="the very hidden _stamp sheet survives, so its version is still read"),
    resave("lo_merged_cells_data", of="merged_cells_data"),
    resave("lo_not_a_date_status_date", of="not_a_date_status_date"),
    resave("lo_another_country_template", of="another_country_template"),
    resave("lo_formula_recalculated", of="formula_without_value", rows={ACT: 2},
           note="LibreOffice calculates the formula and saves its value (22, as typed before): accepted"),
]


# ---- building ----------------------------------------------------------------------------------


def _resolve(spec: Spec, registry: Registry, source: str) -> list[tuple[str, str, str]]:
    lang = registry.country(source[:2]).language if source else "en"
    return sorted((rule, registry.sheet(sheet).label(lang) if sheet else "", cell)
                  for rule, sheet, cell in spec.expected)


def build(out_dir: Path | str, registry: Registry, demo_dir: Path | str,
          soffice: str | None = shutil.which("soffice"), kinds: set[str] | None = None) -> list[Case]:
    """Write the corpus into `out_dir` with its cases.json; return the cases.

    Without `soffice` the LibreOffice cases are listed but not made (`made` False). `kinds`
    limits the cases built (and listed) to those kinds.
    """
    out, demo = Path(out_dir), Path(demo_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_id = {s.id: s for s in SPECS}
    cases, resaves = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for s in SPECS:
            if kinds is not None and s.kind not in kinds:
                continue
            if s.kind == "libreoffice":
                resaves.append(s)
                continue
            (out / f"{s.id}{s.suffix}").write_bytes(s.make(Context(s, registry, demo, Path(scratch))))
            cases.append(Case(s.id, s.kind, f"{s.id}{s.suffix}", s.source, _resolve(s, registry, s.source),
                              s.rows, s.bug, s.note))
        for s in resaves:
            original = by_id[s.of]
            expected = s.expected if s.rows is not None else original.expected
            cases.append(Case(s.id, s.kind, f"{s.id}.xlsx", original.source,
                              _resolve(Spec(s.id, s.kind, "", None, expected), registry, original.source),
                              s.rows, s.bug, s.note or f"{s.of} saved again by LibreOffice",
                              needs="libreoffice", made=bool(soffice)))
        if resaves and soffice:
            try:
                _libreoffice(soffice, out, {s.id: by_id[s.of] for s in resaves}, registry, demo,
                             Path(scratch))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # only those cases fail
                for case in cases:
                    if case.needs and not (out / case.file).exists():
                        case.made, case.error = False, str(exc)
    listed = ",\n".join(json.dumps(asdict(c), ensure_ascii=False) for c in cases)  # a case a line
    (out / "cases.json").write_text(f"[\n{listed}\n]\n", "utf-8")
    return cases


def _libreoffice(soffice: str, out: Path, originals: dict[str, Spec], registry: Registry, demo: Path,
                 scratch: Path) -> None:
    """Save each original again with headless LibreOffice, as `<resave id>.xlsx`, in one run."""
    staging = scratch / "lo_in"
    staging.mkdir()
    for resave_id, original in originals.items():
        made = out / f"{original.id}{original.suffix}"
        if not made.exists():
            made.write_bytes(original.make(Context(original, registry, demo, scratch)))
        shutil.copyfile(made, staging / f"{resave_id}.xlsx")
    inputs = sorted(str(p) for p in staging.iterdir())
    result = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{scratch / 'lo_profile'}",
         "--convert-to", "xlsx", "--outdir", str(out), *inputs],
        capture_output=True, text=True, timeout=300)
    missing = [i for i in originals if not (out / f"{i}.xlsx").exists()]
    if result.returncode != 0 or missing:
        raise RuntimeError(f"LibreOffice did not save {missing}: {result.stdout}\n{result.stderr}")


def main(argv: list[str]) -> None:
    from pipelines import demo_data
    from pipelines.declaration import registry as registries

    if not argv or len(argv) > 2:
        raise SystemExit(__doc__)
    reg = registries.get()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(argv[1]) if len(argv) > 1 else Path(tmp)
        if len(argv) == 1:
            demo_data.generate(reg, demo, seed=0)
        cases = build(argv[0], reg, demo)
    for case in cases:
        flags = " (bug)" if case.bug else "" if case.made else " (not made: no LibreOffice)"
        print(f"{case.kind:<12} {case.file:<45} {case.expected or 'accepted'}{flags}")
    print(f"{len(cases)} cases in {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Read a CSV or Parquet register with DuckDB in bounded time and memory, whatever its content.

A register file is untrusted: a few kilobytes of Parquet can declare a billion rows or expand
(dictionary or run-length encoding, compression) to gigabytes of text, and a CSV can hold one
line of a hundred megabytes. So nothing is read blindly:

- CSV: its encoding is found here (`encoding`) and DuckDB reads its text in UTF-8: UTF-8, with or
  without a byte-order mark, as it is; UTF-16 or UTF-32 with a byte-order mark (Excel's "Unicode
  text") and the Windows code pages Excel's plain "CSV" is saved in (1250, 1251, 1252, 1253:
  `code_page`) decoded here and copied in UTF-8 to a temporary file, removed when the reading
  ends. A file whose encoding cannot be told with certainty, or whose text holds a NUL, is
  refused. Every limit holds for the UTF-8 text, which is at most MAX_BYTES. The header row is
  read here (the first line, split on commas, semicolons or tabs), so DuckDB parses lines of
  that shape and never guesses; a line longer than MAX_LINE bytes, or MAX_BLANK blank lines in a
  row, are refused.
- Parquet: the footer is checked before any data is read: its size, the row count, the types of
  the columns read and the text each of them declares.
- Then one pass counts the rows (up to the limit), the text of the columns read and the values
  longer than MAX_VALUE characters, each cut to MAX_VALUE + 1 characters by DuckDB, so no long
  value ever reaches Python; only a file within every limit is read for its values, still cut,
  a chunk at a time, each value once a chunk (at most MAX_DISTINCT of them).
- DuckDB runs on one thread, with a memory limit, and the checks with a deadline; its errors
  become findings in plain words (the line, what to do), never its own text.
"""

from __future__ import annotations

import codecs
import csv
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import charset_normalizer
import duckdb
import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F

# a register file may be far larger than a quarterly workbook; a CSV's text in UTF-8 too
MAX_BYTES = 200 * 1024 * 1024
MAX_VALUE = 1_000  # characters in one value: a register holds codes, dates and short words
MAX_LINE = 1024 * 1024  # bytes in one CSV line
MAX_BLANK = 100_000  # blank CSV lines in a row: DuckDB loses rows or fails after longer runs
MAX_COLUMNS = 1_000
MAX_TEXT = 128 * 1024 * 1024  # bytes of text in the columns read, all rows together
MAX_DISTINCT = 1_500_000  # values kept (once a chunk): a code per participation, the rest repeats
MAX_FOOTER = 4 * 1024 * 1024  # bytes of a Parquet file's metadata
MAX_LISTED = 50  # long values listed, the first ones
CHUNK = 16  # DuckDB vectors (of 2,048 rows) fetched at a time
SECONDS = 4.0  # for all of DuckDB's checks of one file
DUCKDB = {"threads": 1, "memory_limit": "200MB", "temp_directory": "",
          "autoinstall_known_extensions": False, "autoload_known_extensions": False}
BOM = codecs.BOM_UTF8
# byte-order marks other than UTF-8's, and the codec that reads past each; UTF-32 LE's starts
# with UTF-16 LE's, so it comes first
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Windows' code pages for "CSV" saved by Excel: Central European, Cyrillic, Western, Greek
CODE_PAGES = ("cp1250", "cp1251", "cp1252", "cp1253")
OWN_PAGES = {"bg": ("cp1251",), "de": ("cp1252",), "el": ("cp1253",), "fr": ("cp1252",),
             "hu": ("cp1250", "cp1252"), "it": ("cp1252",), "ro": ("cp1250",)}  # by language
ALPHABETS = {"bg": ("LATIN", "CYRILLIC"), "el": ("LATIN", "GREEK")}  # by language; others Latin
SAMPLE = 16 * 1024  # bytes of the lines beyond ASCII that the detector weighs
LINE = 512  # bytes of such a line kept either side of its first byte beyond ASCII
HIGH = re.compile(rb"[\x80-\xff]")
NEWLINE = re.compile(rb"\r\n|\r|\n")  # Windows, old Mac, Unix
NESTED = re.compile(r"\[|^(STRUCT|MAP|UNION)\b")  # DuckDB's names of lists, records and maps


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=DUCKDB)
    con.execute("SET enable_progress_bar = false")  # it would print to the terminal of `mvh ingest`
    return con


class Refused(Exception):
    """The file cannot be read; `args[0]` holds its findings."""


@dataclass
class Source:
    """A register file open for reading, and what its header says: the column names, their
    Parquet types, the CSV delimiter, the Parquet row count. `language` is its country's, which
    tells the code pages and alphabets its CSV may be written in. Use it in a `with` block:
    DuckDB's errors leave it as Refused, in plain words, and the UTF-8 copy of a CSV is removed."""

    path: Path
    kind: str  # csv | parquet
    data: bytes
    registry: Registry
    language: str = "en"
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    delimiter: str = ","
    rows: int = 0
    copy: IO[bytes] | None = None  # a CSV in another encoding than UTF-8, copied in UTF-8
    con: duckdb.DuckDBPyConnection = field(default_factory=_connect)
    deadline: float = field(default_factory=lambda: time.monotonic() + SECONDS)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def file(self) -> str:
        """The file DuckDB reads: the UTF-8 copy of a CSV, if it has one, else the file itself."""
        return self.copy.name if self.copy else str(self.path)

    def __enter__(self) -> Source:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        self.con.close()
        if self.copy:
            self.copy.close()  # which removes it
        if isinstance(exc, duckdb.Error):
            raise Refused([_plain(exc, self)]) from None

    def checked(self, sql: str, fetch: str = "fetchall"):
        """A query on the file for the checks, fetched, interrupted at the deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Refused([F.error("register_too_complex", sheet=self.name)])
        timer = threading.Timer(left, self.con.interrupt)
        timer.start()
        try:
            return getattr(self.con.execute(sql, [self.file]), fetch)()
        finally:
            timer.cancel()


def header(src: Source, limit: int) -> list[str]:
    """The column names, in order; raises Refused when the file cannot be a register."""
    if src.kind == "csv":
        _csv_header(src)
    else:
        _parquet_header(src, limit)
    if len(src.names) > MAX_COLUMNS:
        raise Refused([F.error("register_too_many_columns", sheet=src.name, count=f"{len(src.names):,}",
                               limit=f"{MAX_COLUMNS:,}")])
    return src.names


def cells(src: Source, picked: dict[str, int], limit: int) -> pd.DataFrame:
    """The picked columns' cells (field id -> column position) as text, None for a blank, at most
    `limit` rows; raises Refused with the cells at fault when the file is out of bounds."""
    cut = {fid: f"left(CAST(c{i} AS VARCHAR), {MAX_VALUE + 1})" for fid, i in picked.items()}
    source = _source(src, picked)
    if src.kind == "parquet":
        _check_declared(src, picked)
    size = " + ".join(f"coalesce(strlen({v}), 0)" for v in cut.values()) or "0"
    long = "".join(f', coalesce(strlen({v}) > {MAX_VALUE}, false) AS "{fid}"' for fid, v in cut.items())
    scan = src.checked(f"SELECT {size} AS _size{long} FROM {source} LIMIT {limit + 1}", "fetchnumpy")
    _check_scan(src, scan, picked, limit)
    rows = len(scan["_size"])
    columns = _values(src, source, cut, rows) if cut else {}
    return pd.DataFrame(columns, index=range(rows), dtype=object, copy=False)


def _values(src: Source, source: str, cut: dict[str, str], rows: int) -> dict[str, np.ndarray]:
    """The cells of a file found within the limits: read without the deadline (a large register
    takes its time), a chunk at a time (a LIMIT would have DuckDB gather the rows first)."""
    values = ", ".join(f'{v} AS "{fid}"' for fid, v in cut.items())
    result = src.con.execute(f"SELECT {values} FROM {source}", [src.file])
    columns = {fid: np.empty(rows, dtype=object) for fid in cut}
    done = kept = 0
    while done < rows and not (chunk := result.fetch_df_chunk(CHUNK)).empty:
        chunk = chunk.iloc[:rows - done]
        for fid in cut:
            codes, uniques = pd.factorize(chunk[fid].to_numpy(dtype=object, na_value=None))
            # one object per value of the chunk: a register repeats its sexes, dates and activities
            columns[fid][done:done + len(chunk)] = np.append(np.asarray(uniques, dtype=object), None)[codes]
            kept += len(uniques)
        if kept > MAX_DISTINCT:
            raise Refused([F.error("register_too_many_values", sheet=src.name, limit=f"{MAX_DISTINCT:,}")])
        done += len(chunk)
    return columns


def _csv_header(src: Source) -> None:
    """The first line of the file in UTF-8, split on commas, semicolons or tabs (whichever it has
    most of; commas on a tie), once the file is found within the limits of lines."""
    _utf8(src)
    if at := _long_line(src.data):
        raise Refused([F.error("register_line_too_long", sheet=src.name, line=f"{at:,}",
                               limit=f"{MAX_LINE:,}")])
    if at := _blank_lines(src.data):
        raise Refused([F.error("register_blank_lines", sheet=src.name, line=f"{at:,}",
                               count=f"{MAX_BLANK:,}")])
    # whole: a first line of MAX_LINE bytes or more spans a block, refused above
    text = NEWLINE.split(src.data[:MAX_LINE], maxsplit=1)[0].removeprefix(BOM).decode("utf-8")
    src.delimiter = max((",", ";", "\t"), key=text.count)
    try:
        src.names = next(csv.reader([text], delimiter=src.delimiter), [])
    except csv.Error:  # a field longer than the csv module takes
        raise Refused([F.error("register_csv_line", sheet=src.name, line=1)]) from None


def _utf8(src: Source) -> None:
    """The CSV's text in UTF-8: a UTF-8 file as it is, any other copied in UTF-8 (`_copy`);
    refused when its encoding cannot be told, or its text holds a NUL character (UTF-16 or
    UTF-32 without their mark, read as bytes, or no text at all)."""
    codec = encoding(src.data, src.language)
    if codec is None:
        raise Refused([F.error("csv_encoding", sheet=src.name)])
    if codec != "utf-8":
        _copy(src, codec)
    if b"\x00" in src.data:
        raise Refused([F.error("csv_encoding", sheet=src.name)])


def encoding(data: bytes, language: str) -> str | None:
    """The encoding a CSV file is written in, a Python codec, or None when it cannot be told with
    certainty: the one its byte-order mark names; UTF-8 when the whole file is UTF-8 (after
    UTF-8's mark or not: DuckDB skips it); else, unless it starts with UTF-8's mark, its Windows
    code page (`code_page`) for a country of that language."""
    for mark, codec in BOMS:
        if data.startswith(mark):
            return codec
    if _decodes(data, "utf-8"):
        return "utf-8"
    return None if data.startswith(BOM) else code_page(data, language)


def code_page(data: bytes, language: str) -> str | None:
    """The Windows code page a CSV file is written in, or None when it cannot be told.

    A page fits the file when each byte beyond ASCII is one of its characters and the letters
    among them are of the country's alphabets (Latin; Cyrillic or Latin for Bulgarian, Greek or
    Latin for Greek). The country's own page (its language's, the one Excel saves "CSV" in on
    the country's Windows) is taken when it fits; else the page that fits, or the first of the
    pages that fit when they all read the file alike; else the page in which the detector
    (charset-normalizer) finds the lines beyond ASCII least messy, unless another that reads
    them otherwise is as little messy to it.
    """
    high = _high_bytes(data)
    own = OWN_PAGES.get(language, ("cp1252",))
    alphabets = ALPHABETS.get(language, ("LATIN",))
    readings = {page: text for page in dict.fromkeys((*own, *CODE_PAGES))
                if (text := _reading(high, page, alphabets)) is not None}
    if not readings:
        return None
    first = next(iter(readings))
    if first in own or len(set(readings.values())) == 1:
        return first
    return _least_messy(_sample(data), readings)


def _decoded(data: bytes, codec: str) -> Iterator[str]:
    """The text of the bytes, a block of MAX_LINE bytes at a time; raises UnicodeDecodeError."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    for start in range(0, len(data), MAX_LINE):
        yield decoder.decode(view[start:start + MAX_LINE])
    yield decoder.decode(b"", final=True)


def _decodes(data: bytes, codec: str) -> bool:
    """Whether the bytes are text in that codec, decoded a block at a time (never whole)."""
    try:
        for _ in _decoded(data, codec):
            pass
    except UnicodeDecodeError:
        return False
    return True


def _high_bytes(data: bytes) -> bytes:
    """The bytes beyond ASCII that the data holds, each once, in order."""
    seen = np.zeros(256, dtype=bool)
    for start in range(0, len(data), MAX_LINE):
        seen[np.frombuffer(data, np.uint8, min(MAX_LINE, len(data) - start), start)] = True
    return (np.flatnonzero(seen[128:]) + 128).astype(np.uint8).tobytes()


def _reading(high: bytes, page: str, alphabets: tuple[str, ...]) -> str | None:
    """The bytes as characters of the page; None if one is not a character of it, or a letter
    of another alphabet."""
    try:
        text = high.decode(page)
    except UnicodeDecodeError:
        return None
    return text if {_alphabet(c) for c in text if c.isalpha()} <= {"", *alphabets} else None


def _alphabet(letter: str) -> str:
    """A letter's alphabet as Unicode names it (LATIN, CYRILLIC, GREEK), "" for one of none (ª, µ)."""
    first = unicodedata.name(letter, "").split(" ", 1)[0]
    return first if first in ("LATIN", "CYRILLIC", "GREEK") else ""


def _sample(data: bytes) -> bytes:
    """The first lines holding bytes beyond ASCII, where code pages differ: about SAMPLE bytes of
    them, each cut to LINE bytes either side of its first such byte."""
    lines, size, at = [], 0, 0
    while size < SAMPLE and (found := HIGH.search(data, at)):
        first, last = max(at, found.start() - LINE), min(found.end() + LINE, len(data))
        start = max(data.rfind(b"\n", first, found.start()), data.rfind(b"\r", first, found.start()),
                    first - 1) + 1
        end = data.find(b"\n", found.end(), last)
        if end < 0:
            end = data.find(b"\r", found.end(), last)  # old Mac lines
        at = end + 1 if end >= 0 else last
        lines.append(data[start:at])
        size += at - start
    return b"".join(lines)


def _least_messy(sample: bytes, readings: dict[str, str]) -> str | None:
    """Of the pages (each with its reading of the file's bytes beyond ASCII), the one in which
    charset-normalizer finds the sample least messy; None if it finds one that reads the file
    otherwise as little messy, or none. Each page it can decode the sample in is weighed (a
    threshold of 1): its default, 0.2, drops the right page of many a short register."""
    mess = {page: match.chaos for match in charset_normalizer.from_bytes(sample, cp_isolation=list(readings),
                                                                          threshold=1.0)
            for page in match.could_be_from_charset}
    ranked = sorted(mess, key=mess.get)
    if not ranked:
        return None
    rivals = [page for page in ranked if readings[page] != readings[ranked[0]]]
    return None if rivals and mess[rivals[0]] == mess[ranked[0]] else ranked[0]


def _copy(src: Source, codec: str) -> None:
    """The file's text copied in UTF-8 to a temporary file, which DuckDB reads, and kept as the
    source's data; refused when it does not decode after all (UTF-16 cut short) or takes more
    than MAX_BYTES in UTF-8."""
    src.copy = tempfile.NamedTemporaryFile(prefix="register-", suffix=".csv")  # readable by its owner only
    size = 0
    try:
        for text in _decoded(src.data, codec):
            chunk = text.encode("utf-8")
            size += len(chunk)
            if size <= MAX_BYTES:
                src.copy.write(chunk)
    except UnicodeDecodeError:
        raise Refused([F.error("csv_encoding", sheet=src.name)]) from None
    if size > MAX_BYTES:
        raise Refused([F.error("register_too_large", sheet=src.name, size=f"{size / 2**20:,.1f}",
                               limit=f"{MAX_BYTES / 2**20:,.0f}")])
    src.copy.flush()
    src.data = Path(src.copy.name).read_bytes()


def _long_line(data: bytes) -> int | None:
    """The number of a line that spans a whole block of MAX_LINE bytes, found without splitting
    the file into lines (DuckDB finds the shorter long lines, and would copy such a line whole
    into its error); lines end with a line feed, or a carriage return alone (old Mac)."""
    for start in range(0, len(data) - MAX_LINE + 1, MAX_LINE):
        if data.find(b"\n", start, start + MAX_LINE) < 0 and data.find(b"\r", start, start + MAX_LINE) < 0:
            return _line(data, start)
    return None


def _blank_lines(data: bytes) -> int | None:
    """The number of the first of MAX_BLANK blank lines in a row, if the file has them."""
    for newline in (b"\r\n", b"\n", b"\r"):
        at = data.find(newline * MAX_BLANK)
        if at >= 0:
            return _line(data, at + len(newline))
    return None


def _line(data: bytes, at: int) -> int:
    """The number of the line holding byte `at`."""
    return (data.count(b"\n", 0, at) or data.count(b"\r", 0, at)) + 1


def _parquet_header(src: Source, limit: int) -> None:
    """The column names and types, once the footer is found plausible: its size, its rows."""
    data = src.data
    footer = int.from_bytes(data[-8:-4], "little")
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1" or footer > len(data) - 12:
        raise Refused([F.error("register_unreadable", sheet=src.name, value=src.name)])
    if footer > MAX_FOOTER:
        raise Refused([F.error("register_too_complex", sheet=src.name)])
    src.rows = src.checked("SELECT num_rows FROM parquet_file_metadata(?)")[0][0]
    if src.rows > limit:
        raise Refused([F.error("too_many_rows", sheet=src.name, limit=f"{limit:,}")])
    described = src.checked("DESCRIBE SELECT * FROM read_parquet(?)")
    src.names, src.types = [r[0] for r in described], [r[1] for r in described]


def _source(src: Source, picked: dict[str, int]) -> str:
    """The table function reading the file (its path the one parameter), the picked columns
    named c0, c1, ... by their position."""
    if src.kind == "parquet":
        renamed = ", ".join(f'"{src.names[i].replace(chr(34), chr(34) * 2)}" AS c{i}'
                            for i in sorted(set(picked.values())))
        return f"(SELECT {renamed or 'NULL AS _none'} FROM read_parquet(?))"
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(max(len(src.names), 1)))
    return (f"read_csv(?, columns = {{{columns}}}, header = true, auto_detect = false, "
            f"delim = '{src.delimiter}', quote = '\"', escape = '\"', max_line_size = {MAX_LINE}, "
            f"null_padding = true)")


def _check_declared(src: Source, picked: dict[str, int]) -> None:
    """Before reading a Parquet file's data: every column read holds single values, and declares
    no more text than its rows could hold (a larger claim is a value longer than allowed, or a
    page that would expand beyond any register)."""
    declared = dict(src.checked("SELECT path_in_schema, sum(total_uncompressed_size) "
                                "FROM parquet_metadata(?) GROUP BY ALL"))
    sheet = src.registry.participant_register.sheet
    for fid, i in picked.items():
        at = {"sheet": src.name, "sheet_id": sheet.id, "field": fid, "cell": get_column_letter(i + 1)}
        if NESTED.search(src.types[i]):
            raise Refused([F.error("register_column_type", src.registry, **at)])
        if declared.get(src.names[i], 0) > src.rows * (MAX_VALUE + 16) + 65_536:  # + page headers
            raise Refused([F.error("value_too_long", src.registry, **at, limit=f"{MAX_VALUE:,}")])


def _check_scan(src: Source, scan: dict[str, np.ndarray], picked: dict[str, int], limit: int) -> None:
    """The first pass's counts against the limits: rows, long values (listed by cell), text."""
    rows = len(scan["_size"])
    if rows > limit:
        raise Refused([F.error("too_many_rows", sheet=src.name, limit=f"{limit:,}")])
    long = sorted((int(row), i, fid) for fid, i in picked.items()
                  for row in np.flatnonzero(scan[fid])[:MAX_LISTED])[:MAX_LISTED]
    sheet = src.registry.participant_register.sheet
    if long:
        raise Refused([F.error("value_too_long", src.registry, sheet=src.name, sheet_id=sheet.id, field=fid,
                               cell=f"{get_column_letter(i + 1)}{row + 2}", limit=f"{MAX_VALUE:,}")
                       for row, i, fid in long])  # rows counted under the header, row 1
    text = int(scan["_size"].sum())
    if text > MAX_TEXT:
        raise Refused([F.error("register_too_much_text", sheet=src.name, size=f"{text / 2**20:,.0f}",
                               limit=f"{MAX_TEXT / 2**20:,.0f}")])


def _plain(exc: duckdb.Error, src: Source) -> F.Finding:
    """DuckDB's error as a finding in plain words: which line, if it says, and what to do."""
    if isinstance(exc, (duckdb.OutOfMemoryException, duckdb.InterruptException)):
        return F.error("register_too_complex", sheet=src.name)
    text = str(exc)
    found = re.search(r"CSV Error on Line: (\d+)", text)
    if not found:
        return F.error("register_unreadable", sheet=src.name, value=src.name)
    line = f"{int(found.group(1)):,}"
    if "Maximum line size" in text:
        return F.error("register_line_too_long", sheet=src.name, line=line, limit=f"{MAX_LINE:,}")
    return F.error("register_csv_line", sheet=src.name, line=line)

"""Read a CSV or Parquet register with DuckDB in bounded time and memory, whatever its content.

A register file is untrusted: a few kilobytes of Parquet can declare a billion rows or expand
(dictionary or run-length encoding, compression) to gigabytes of text, and a CSV can hold one
line of a hundred megabytes. So nothing is read blindly:

- CSV: the header row is read here (the first line, UTF-8, comma or semicolon), so DuckDB parses
  lines of that shape and never guesses; a line longer than MAX_LINE bytes, or MAX_BLANK blank
  lines in a row, are refused.
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

import csv
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F

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
BOM = b"\xef\xbb\xbf"
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
    Parquet types, the CSV delimiter, the Parquet row count. Use it in a `with` block: DuckDB's
    errors leave it as Refused, in plain words."""

    path: Path
    kind: str  # csv | parquet
    data: bytes
    registry: Registry
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    delimiter: str = ","
    rows: int = 0
    con: duckdb.DuckDBPyConnection = field(default_factory=_connect)
    deadline: float = field(default_factory=lambda: time.monotonic() + SECONDS)

    @property
    def name(self) -> str:
        return self.path.name

    def __enter__(self) -> Source:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        self.con.close()
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
            return getattr(self.con.execute(sql, [str(self.path)]), fetch)()
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
    result = src.con.execute(f"SELECT {values} FROM {source}", [str(src.path)])
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
    """The first line, split on commas or semicolons (whichever it has more of)."""
    if at := _long_line(src.data):
        raise Refused([F.error("register_line_too_long", sheet=src.name, line=f"{at:,}",
                               limit=f"{MAX_LINE:,}")])
    if at := _blank_lines(src.data):
        raise Refused([F.error("register_blank_lines", sheet=src.name, line=f"{at:,}",
                               count=f"{MAX_BLANK:,}")])
    line = NEWLINE.split(src.data[:MAX_LINE], maxsplit=1)[0].removeprefix(BOM)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused([F.error("register_not_utf8", sheet=src.name, line=1)]) from None
    src.delimiter = ";" if text.count(";") > text.count(",") else ","
    try:
        src.names = next(csv.reader([text], delimiter=src.delimiter), [])
    except csv.Error:  # a field longer than the csv module takes
        raise Refused([F.error("register_csv_line", sheet=src.name, line=1)]) from None


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
    if "Invalid unicode" in text:
        return F.error("register_not_utf8", sheet=src.name, line=line)
    if "Maximum line size" in text:
        return F.error("register_line_too_long", sheet=src.name, line=line, limit=f"{MAX_LINE:,}")
    return F.error("register_csv_line", sheet=src.name, line=line)

"""Hostile participant registers (CSV and Parquet), small on disk, with the error each must give.

Each case is one file, `<id>_BG_2022-Q3_register.<csv|parquet>`, made by one maker, and the error
it must give as (rule, cell): every error of the file has that rule, the first at that cell
("" for the whole file). A case without a rule is read without error (`rows` rows). Each must
be read or refused in bounded time and memory, with a message in plain words. `GOOD` is a
well-formed register of three rows, to read right after a hostile one.

    python tests/corpus/registers.py OUT_DIR

writes them all, and OUT_DIR/cases.json (id, file, rule, cell, rows, note). `read_each` reads
each with `register.read_file` in a process of its own, then GOOD in that process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

HEADER = ["participant_code", "activity_id", "date", "sex", "age_bracket", "third_country_national"]
ROW = ["P1", "BG-2022-Q3-A001", "05/07/2022", "female", "18_60", "yes"]
FIELDS = [f"'{v}' AS {h}" for h, v in zip(HEADER[1:], ROW[1:], strict=True)]  # all but the code
OWN = [f"'{h[0]}' || range AS {h}" for h in HEADER[1:]]  # a value of its own in each row
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
SAYS_2GB = (2**31).to_bytes(4, "little") + b"PAR1"  # the end of a Parquet file: footer length, magic


def x(n: int) -> str:
    """SQL for a text of n x's (DuckDB repeats a 100 kB piece faster than a letter)."""
    return f"repeat(repeat('x', 100_000), {n // 100_000})" if n >= 100_000 else f"repeat('x', {n})"


@dataclass(frozen=True)
class Case:
    id: str
    suffix: str  # csv | parquet | xlsx
    make: Callable[[Path], None]  # writes the file at the path given
    rule: str | None
    cell: str = ""
    rows: int | None = None
    note: str = ""

    @property
    def file(self) -> str:
        return f"{self.id}_BG_2022-Q3_register.{self.suffix}"


def parquet(code: str, rows: int, fields: list[str] = FIELDS, **columns: str) -> Callable[[Path], None]:
    """A Parquet register (zstd) of `rows` rows whose participant code is the SQL `code`."""
    select = ", ".join([f"{code} AS participant_code", *fields, *(f"{v} AS {k}" for k, v in columns.items())])

    def make(path: Path) -> None:
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT {select} FROM range({rows})) TO '{path}' "
                        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")

    return make


def text(body: Callable[[], bytes], header: bytes | None = None) -> Callable[[Path], None]:
    """A CSV register: the header row (HEADER unless given), then `body()`."""
    return lambda path: path.write_bytes((header or line(*HEADER)) + body())


def line(*values: str) -> bytes:
    return (",".join(values) + "\n").encode()


def patched(make: Callable[[Path], None], change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """The file of another maker with its bytes changed."""

    def patch(path: Path) -> None:
        make(path)
        path.write_bytes(change(path.read_bytes()))

    return patch


def understated(make: Callable[[Path], None]) -> Callable[[Path], None]:
    """The Parquet file of `make` with its footer saying that its first column chunk and row
    group hold 1,000 bytes: the footer's sizes are the writer's word, the page headers differ."""

    def patch(path: Path) -> None:
        make(path)
        with duckdb.connect() as con:
            sizes = con.execute("SELECT total_uncompressed_size, row_group_bytes FROM parquet_metadata(?) "
                                "WHERE column_id = 0", [str(path)]).fetchone()
        data = path.read_bytes()
        length = int.from_bytes(data[-8:-4], "little")
        footer = data[-8 - length:-8]
        for size in set(sizes):
            footer = footer.replace(_varint(size), _varint(1000))
        path.write_bytes(data[:-8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1")

    return patch


def _varint(n: int) -> bytes:
    """An i64 as Thrift's compact protocol writes it: zigzag, then 7 bits a byte."""
    n, out = (n << 1) ^ (n >> 63), bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def workbook(*cells: tuple[int, int, str]) -> Callable[[Path], None]:
    """A register workbook: the header and a row, and more text cells at (row, column), 0-based."""

    def make(path: Path) -> None:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path))
        sheet = wb.add_worksheet("Register")
        for row, values in enumerate([HEADER, ROW]):
            sheet.write_row(row, 0, values)
        for row, column, value in cells:
            sheet.write_string(row, column, value)
        wb.close()

    return make


def good(path: Path) -> None:
    rows = [ROW, ["P2", *ROW[1:3], "male", "under_18", "no"], ["P3", *ROW[1:3], "female", "over_60", "yes"]]
    path.write_bytes(line(*HEADER) + b"".join(line(*r) for r in rows))


def utf16(path: Path) -> None:
    path.write_text((line(*HEADER) + line(*ROW)).decode(), "utf-16")


GOOD = Case("good", "csv", good, None, rows=3, note="a well-formed register")
CASES = [
    # Parquet: expansion, rows, types, columns, damage
    Case("dictionary_bomb", "parquet", parquet(x(10 * MB), 60), "value_too_long", "A",
         note="one 10 MB dictionary string used by 60 rows, 600 MB of text: refused by its footer"),
    Case("dictionary_understated", "parquet", understated(parquet(x(10 * MB), 60)), "value_too_long", "A2",
         note="the same, its footer saying 1,000 bytes: each value cut by DuckDB"),
    Case("plain_page", "parquet", parquet(x(20 * MB), 1), "value_too_long", "A",
         note="one 20 MB value in a plain page: refused by its footer"),
    Case("lying_footer", "parquet", understated(parquet(x(210 * MB), 1)), "register_too_complex",
         note="a 210 MB value, its footer saying 1,000 bytes: DuckDB's memory limit"),
    Case("many_rows", "parquet", parquet("'P1'", 30_000_000, fields=[]), "too_many_rows",
         note="0.3 MB, 30 million rows: refused by the footer"),
    Case("distinct_values", "parquet", parquet("'P' || range", 300_000, OWN),
         "register_too_many_values", note="300,000 rows, each value its own: 1.8 million different values "
                                          "(a register repeats all but its codes)"),
    Case("list_column", "parquet", parquet("list_resize([0], 1_000_000, 0)", 1), "register_column_type", "A",
         note="a list of a million numbers as a participant code"),
    Case("wide", "parquet", parquet("'P1'", 1, **{f"note_{i}": "'n'" for i in range(1_500)}),
         "register_too_many_columns", note="1,506 columns"),
    Case("cut_off", "parquet", patched(parquet("'P1'", 1000), lambda data: data[:len(data) // 2]),
         "register_unreadable", note="the first half of a Parquet file"),
    Case("huge_footer", "parquet", patched(parquet("'P1'", 10), lambda data: data[:-8] + SAYS_2GB),
         "register_unreadable", note="a footer that says it is 2 GB long, in a file of 1.5 kB"),
    # CSV: lines, values, rows, encodings, shapes
    Case("long_line", "csv", text(lambda: line(*ROW) + b"x" * (3 * MB) + b"\n"), "register_line_too_long",
         note="a line of 3 MB, the third"),
    Case("long_quoted_value", "csv", text(lambda: b'"' + b"x" * (MB + MB // 2) + b'",' + line(*ROW[1:])),
         "register_line_too_long", note="a value of 1.5 MB in quotes, found by DuckDB"),
    Case("long_values", "csv", text(lambda: line("y" * 5000, *ROW[1:]) * 2000), "value_too_long", "A2",
         note="2,000 participant codes of 5,000 characters"),
    Case("many_lines", "csv", text(lambda: b",,,,,\n" * 1_100_000), "too_many_rows",
         note="1.1 million empty rows, 6.6 MB"),
    Case("tiny_lines", "csv", text(lambda: b"a\n" * 1_100_000), "too_many_rows",
         note="1.1 million rows of one letter, 2.2 MB"),
    Case("blank_lines", "csv", text(lambda: line(*ROW) + b"\n" * 200_000 + line(*ROW)),
         "register_blank_lines",
         note="200,000 blank lines between two rows (past a million, DuckDB loses rows or fails)"),
    Case("blank_crlf_lines", "csv", text(lambda: b"\r\n" * 200_000 + line(*ROW)), "register_blank_lines",
         note="200,000 blank lines ended by CR LF"),
    Case("cp1251", "csv", text(lambda: line("П1", *ROW[1:]).decode().encode("cp1251")), None, rows=1,
         note="saved as 'CSV (comma delimited)' on a Bulgarian Windows: Windows-1251, read as such"),
    Case("utf16", "csv", utf16, None, rows=1,
         note="UTF-16 with its byte-order mark, as Excel's 'Unicode text'"),
    Case("utf16_cut", "csv", patched(utf16, lambda data: data + b"\x00"), "csv_encoding",
         note="UTF-16 with an odd byte at its end"),
    Case("undecodable", "csv", text(lambda: b"P\x81\x98," + line(*ROW[1:])), "csv_encoding",
         note="bytes that are no character of any of Windows' code pages for the project's languages"),
    Case("euro_signs", "csv", text(lambda: (b"\x88" * 999 + b"\n") * 80_000), "register_too_large",
         note="80 MB of euro signs in Windows-1251, 240 MB once in UTF-8"),
    Case("wide_header", "csv", text(lambda: line(*ROW), line(*(f"c{i}" for i in range(200_000)))),
         "register_line_too_long", note="a header of 200,000 columns, 1.5 MB"),
    Case("many_columns", "csv", text(lambda: line(*ROW), line(*HEADER, *(f"c{i}" for i in range(5000)))),
         "register_too_many_columns", note="5,006 columns"),
    Case("header_field", "csv", text(lambda: line(*ROW), b'"' + b"x" * 200_000 + b'",' + line(*HEADER)),
         "register_csv_line", note="a header cell of 200,000 characters, beyond Python's csv module"),
    Case("mac_lines", "csv", patched(text(lambda: line(*ROW) * 2), lambda data: data.replace(b"\n", b"\r")),
         None, rows=2, note="lines ended by a carriage return, as Excel for Mac's 'CSV (Macintosh)'"),
    Case("extra_values", "csv", text(lambda: line(*ROW) + line(*ROW, "one more")), "register_csv_line",
         note="line 3 has a value more than the header has columns"),
    Case("open_quote", "csv", text(lambda: line(*ROW) + b'"P2,' + line(*ROW[1:])), "register_csv_line",
         note="a quote opened on line 3 and never closed"),
    Case("binary", "csv", text(lambda: bytes(range(11, 256)) * 4000), "csv_encoding",
         note="random bytes after the header"),
    Case("far_cell_workbook", "xlsx", workbook((1_048_575, 16_383, "x")), "outside_area", "XFD1048576",
         note="one value in the last cell of a register workbook: a grid of 17 billion cells"),
    Case("far_column_workbook", "xlsx", workbook((5, 30, "x")), "outside_area", "AE6",
         note="a value in column AE, far right of the register's columns"),
]


# a fresh process per file, one at a time, forked from one that has imported the reader
READER = """
import json, multiprocessing, resource, sys, time
from pathlib import Path
from pipelines.declaration import registry
from pipelines.intake import register
reg = registry.get()

def read(path):
    start = time.perf_counter()
    got = register.read_file(Path(path), reg)
    return {"seconds": time.perf_counter() - start, "rows": len(got.frame),
            "errors": [[f.rule, f.cell, f.message, f.fix] for f in got.findings if f.severity == "error"]}

def hostile_then_good(path):
    hostile = read(path)
    hostile["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"hostile": hostile, "good": read(sys.argv[1])}

with multiprocessing.get_context("fork").Pool(1, maxtasksperchild=1) as pool:
    print(json.dumps(pool.map(hostile_then_good, sys.argv[2:], chunksize=1)))
"""


def read_each(folder: Path, cases: list[Case] = CASES) -> dict[str, dict]:
    """{case id: {"hostile": {seconds, peak_mb, rows, errors}, "good": {seconds, rows, errors}}},
    errors as [rule, cell, message, fix]; peak_mb is the peak memory of the process reading it."""
    done = subprocess.run([sys.executable, "-c", READER, str(folder / GOOD.file),
                           *(str(folder / c.file) for c in cases)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return dict(zip([c.id for c in cases], json.loads(done.stdout.splitlines()[-1]), strict=True))


def build(folder: Path) -> list[Case]:
    """Every case and GOOD written into `folder`; cases.json lists them."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in [*CASES, GOOD]:
        case.make(folder / case.file)
    listed = [{**{k: v for k, v in asdict(c).items() if k != "make"}, "file": c.file} for c in CASES]
    (folder / "cases.json").write_text(json.dumps(listed, indent=1), "utf-8")
    return CASES


if __name__ == "__main__":
    build(Path(sys.argv[1]))

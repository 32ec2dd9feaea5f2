"""Write an export pack: one .xlsx workbook (xlsxwriter) or a zip of CSV files, one per sheet.

Formula safety: every text, partner text above all, is written as a
string. In .xlsx, xlsxwriter never turns strings into formulas or links and text goes through
write_string; in CSV a text beginning with = + - @ (or a tab or carriage return) gets a leading
apostrophe, so a spreadsheet opening the file shows it as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import numbers
import re
import zipfile
from contextlib import closing
from pathlib import Path

import pandas as pd

from pipelines.declaration.registry import Registry
from pipelines.export import pack as export
from pipelines.export import snapshot, submitted
from pipelines.export.pack import SUPPRESSED, Chart, Pack, Table
from pipelines.marts.people import NOT_COLLECTED
from pipelines.store import db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDTH = (6, 60)  # narrowest and widest column, in characters
WRAPPED_WIDTH = 70
CHART_SIZE = (520, 300)  # pixels


def write_xlsx(pack: Pack, path: Path) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    workbook.set_properties(
        {"title": "EU reporting export pack", "comments": f"snapshot {pack.snapshot_id}"}
    )
    styles = _Styles(workbook)
    sheets = {}
    for table in pack.tables:
        sheets[table.name] = workbook.add_worksheet(table.name)
        _write_table(sheets[table.name], table, styles)
    tables = {t.name: t for t in pack.tables}
    below = len(tables[pack.chart_sheet].frame) + 3
    for i, chart in enumerate(pack.charts):
        sheets[pack.chart_sheet].insert_chart(
            below,
            0,
            _line_chart(workbook, chart, tables[chart.table]),
            {"x_offset": (i % 2) * (CHART_SIZE[0] + 20), "y_offset": (i // 2) * (CHART_SIZE[1] + 20)},
        )
    workbook.close()
    return path


class _Styles:
    """xlsxwriter formats, created once per combination."""

    def __init__(self, workbook) -> None:
        self.workbook = workbook
        self.cache: dict[tuple, object] = {}

    def get(self, num_format: str | None = None, bold: bool = False, wrap: bool = False,
            header: bool = False, align: str | None = None):
        key = (num_format, bold, wrap, header, align)
        if key not in self.cache:
            spec = {"valign": "top"} | ({"align": align} if align else {})
            if num_format:
                spec["num_format"] = num_format
            if bold:
                spec |= {"bold": True, "top": 1}
            if wrap or header:
                spec["text_wrap"] = True
            if header:
                spec |= {"bold": True, "bg_color": "#DDE5F0", "bottom": 1}
            self.cache[key] = self.workbook.add_format(spec)
        return self.cache[key]


def _write_table(ws, table: Table, styles: _Styles) -> None:
    frame = table.frame
    for col, name in enumerate(frame.columns):
        ws.write_string(0, col, str(name), styles.get(header=True))
    last = len(frame)
    for row, values in enumerate(frame.itertuples(index=False), start=1):
        bold = table.totals and row == last
        for col, value in enumerate(values):
            name = frame.columns[col]
            _write_cell(ws, row, col, value, styles, table.formats.get(name), bold,
                        name in table.wrap)
    for col, name in enumerate(frame.columns):
        ws.set_column(col, col, _width(name, frame[name], name in table.wrap))
    ws.freeze_panes(1, table.freeze_columns)


def _write_cell(ws, row, col, value, styles, num_format, bold, wrap) -> None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        ws.write_blank(row, col, None, styles.get(bold=bold))
    elif isinstance(value, numbers.Number) and not isinstance(value, bool):
        ws.write_number(row, col, float(value), styles.get(num_format or NUMBER_FORMAT, bold))
    elif isinstance(value, dt.datetime):
        stamp = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
        ws.write_datetime(row, col, stamp, styles.get(DATETIME_FORMAT, bold))
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, styles.get(DATE_FORMAT, bold))
    else:
        # a suppressed or uncollected count stays aligned with the numbers of its column
        align = "right" if value in (SUPPRESSED, NOT_COLLECTED) else None
        ws.write_string(row, col, str(value), styles.get(bold=bold, wrap=wrap, align=align))


def _width(name: str, values: pd.Series, wrap: bool) -> int:
    if wrap:
        return WRAPPED_WIDTH
    shown = [_shown(v) for v in values]
    longest = max([len(s) for s in shown] + [min(len(str(name)), 24)])
    return max(WIDTH[0], min(WIDTH[1], longest + 2))


def _shown(value) -> str:
    if isinstance(value, numbers.Number) and not pd.isna(value):
        return f"{value:,.1f}"
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _line_chart(workbook, chart: Chart, table: Table):
    """A native line chart: categories and series refer to the table's cells, so it stays live."""
    frame = table.frame
    rows = len(frame)
    category = frame.columns.get_loc(chart.category)
    line = workbook.add_chart({"type": "line"})
    for i, name in enumerate(chart.series):
        col = frame.columns.get_loc(name)
        # planned values dashed: the two lines differ by more than their colour
        dash = {"dash_type": "dash"} if i else {}
        line.add_series({
            "name": [table.name, 0, col],
            "categories": [table.name, 1, category, rows, category],
            "values": [table.name, 1, col, rows, col],
            "line": {"width": 2.25, **dash},
            "marker": {"type": "circle" if i == 0 else "none"},
        })
    line.set_title({"name": chart.title, "name_font": {"size": 12}})
    line.set_x_axis({"name": chart.category})
    line.set_y_axis({"name": chart.unit, "num_format": NUMBER_FORMAT, "min": 0})
    line.set_legend({"position": "bottom"})
    line.show_blanks_as("gap")
    line.set_size({"width": CHART_SIZE[0], "height": CHART_SIZE[1]})
    return line


# ---- CSV ----------------------------------------------------------------------------------
def write_csv_zip(pack: Pack, path: Path) -> Path:
    """A zip with one CSV per sheet, UTF-8 with a byte-order mark so Excel reads any script."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(pack.tables, start=1):
            archive.writestr(f"{number:02d}_{_slug(table.name)}.csv", csv_bytes(table.frame))
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(str(c)) for c in frame.columns])
    for values in frame.itertuples(index=False):
        writer.writerow([_csv_cell(v) for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_safe(text: str) -> str:
    """A text that a spreadsheet would read as a formula, made inert with a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(float(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return csv_safe(str(value))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def produce(database: Path | str | None, registry: Registry, fmt: str = "xlsx",
            output: Path | None = None, period: str | None = None, as_of: str | None = None,
            snapshot_id: str | None = None, approved_only: bool = False,
            reported_by: str | None = None) -> tuple[Path, dict]:
    """Freeze a snapshot (or take a stored one) and write its pack: (the file, the snapshot's
    manifest with its id). With `reported_by`, the pack is reported to the EU: what it counts is
    locked first and it is recorded (pipelines/export/submitted.py). Raises ValueError,
    db.NoDatabase or SnapshotError with what to fix."""
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"--format {fmt!r} is not known; use xlsx or csv")
    if snapshot_id and (period or as_of or approved_only):
        raise ValueError("a snapshot fixes its period, as-of quarter and what it counts; "
                         "give --snapshot alone")
    if not snapshot_id:
        if not period:
            raise ValueError("give --period, e.g. --period 2022-Q1..2022-Q4 (or --snapshot ID)")
        span = export.parse_period(period, registry)
        as_of = export.check_as_of(as_of, span, registry)
        if reported_by:
            with closing(db.connect(database)) as con:
                submitted.lock(con, as_of, approved_only, f"period {span}", reported_by, database)
        snapshot_id = snapshot.take(database, registry, str(span), as_of, approved_only)
    elif reported_by:
        raise ValueError("a pack is reported to the EU when it is made: give --period (and --as-of), "
                         "not --snapshot")
    frozen = snapshot.load(snapshot.directory(database), snapshot_id)
    try:
        pack = export.build(frozen, dt.datetime.now())
    finally:
        frozen.close()
    span = frozen.manifest["period"]
    output = output or Path(f"MVH_export_{span.replace('..', '_')}_{frozen.id}.{fmt}")
    if fmt == "csv" and output.suffix != ".zip":
        output = output.with_suffix(".zip")
    output.parent.mkdir(parents=True, exist_ok=True)
    (write_csv_zip if fmt == "csv" else write_xlsx)(pack, output)
    manifest = {**frozen.manifest, "id": frozen.id}
    if reported_by:
        submitted.record(manifest, reported_by, database)
    return output, manifest

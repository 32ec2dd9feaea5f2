"""The partner's own workbook handed back with its problems marked, in the partner's language.

Each cell at fault is filled (red for an error, amber for a warning) and carries a comment with
what is wrong and how to fix it; a findings sheet in front lists every finding, with a link to
its cell. openpyxl, which writes it, builds every cell of the workbook (and of a merged range)
in memory, so only a workbook it can open cheaply is marked (`affordable`): one that passes the
container checks, with few sheets, little sheet XML and small merged ranges. Others are checked
all the same; their findings are listed without a marked copy.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.hyperlink import Hyperlink

from pipelines.declaration.registry import Registry
from pipelines.declaration.template import HEADER_ROW
from pipelines.intake import container, messages, ods
from pipelines.intake.findings import Finding

FILL = {"error": PatternFill("solid", fgColor="F8B4B4"), "warning": PatternFill("solid", fgColor="FCE7A2")}
HEADER = PatternFill("solid", fgColor="1F4E79")
MAX_SHEETS = 60
MAX_SHEET_XML = 3 * container.MB  # a quarterly workbook's sheets hold about 0.1 MB
MAX_MERGED_CELLS = 100_000
MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')


def affordable(source: Path) -> bool:
    """Whether the workbook can be marked in bounded time and memory (see the module's text)."""
    data = source.read_bytes()
    if ods.is_ods(data):  # converted in the sandbox by `write`: bounded by its one content part
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.NameToInfo.get("content.xml")
            return not container.zip_refusals(archive, container.MAX_UNPACKED_BYTES) \
                and content is not None and content.file_size <= MAX_SHEET_XML
    if container.check(data):
        return False
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [e for e in archive.infolist() if e.filename.startswith("xl/worksheets/")
                  and e.filename.endswith(".xml")]
        if len(sheets) > MAX_SHEETS or sum(e.file_size for e in sheets) > MAX_SHEET_XML:
            return False
        merged = sum(_area(*m) for e in sheets for m in MERGE.findall(archive.read(e)))
    return merged <= MAX_MERGED_CELLS


def _area(first_column: bytes, first_row: bytes, last_column: bytes, last_row: bytes) -> int:
    columns = column_index_from_string(last_column.decode()) - column_index_from_string(first_column.decode())
    return (abs(columns) + 1) * (abs(int(last_row) - int(first_row)) + 1)


def ui(key: str, lang: str) -> str:
    """A fixed text of the findings sheet, from the message catalogue."""
    return messages.render(key, lang)[0]


def findings_titles() -> list[str]:
    """The findings sheet's name in every language (the reader passes over it in a marked copy)."""
    return [title[:31] for title in messages.catalogue()["ui_findings"]["message"].values()]


def write(source: Path, target: Path, found: list[Finding], lang: str, registry: Registry) -> Path:
    """Save `source` as `target` with the findings marked; return `target` (an .xlsx, also for
    an .ods source)."""
    data = source.read_bytes()
    wb = load_workbook(io.BytesIO(ods.as_xlsx(data)[0] if ods.is_ods(data) else data))
    sheet = wb.create_sheet(ui("ui_findings", lang)[:31], 0)
    headers = ui("ui_columns", lang).split("|")
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), HEADER
    for finding in found:
        message, fix = messages.localise(finding, lang, registry)
        severity = ui(f"ui_{finding.severity}", lang)
        sheet.append([severity, finding.sheet, finding.cell, finding.value, message, fix])
        row = sheet.max_row
        sheet.cell(row=row, column=1).fill = FILL[finding.severity]
        if finding.sheet in wb.sheetnames and finding.cell:
            link = sheet.cell(row=row, column=3)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{finding.sheet}'!{finding.cell}")
            link.font = Font(color="0563C1", underline="single")
            for cell in [finding.cell, *_parts(wb[finding.sheet], finding, registry)]:
                _mark(wb[finding.sheet][cell], finding, f"{message}\n{fix}")
    if not found:
        sheet.append([ui("ui_none", lang)])
    for column, width in zip("ABCDEF", (10, 18, 8, 18, 60, 60), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row[4:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    wb.active = 0
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is sheet
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def _parts(ws, finding: Finding, registry: Registry) -> list[str]:
    """The cells of the parts a total does not add up to (a `sum` finding names the total's
    cell): found by their column headers, in any language, on the total's row."""
    params = dict(finding.params)
    if finding.rule != "sum" or not params.get("parts") or not finding.sheet_id:
        return []
    from pipelines.intake.read import _field_index, normalise

    index = _field_index(registry.sheet(finding.sheet_id), registry)
    row = "".join(c for c in finding.cell if c.isdigit())
    wanted = set(params["parts"].split(","))
    return [f"{cell.column_letter}{row}" for cell in ws[HEADER_ROW]
            if cell.value is not None and getattr(index.get(normalise(cell.value)), "id", None) in wanted]


def _mark(cell, finding: Finding, text: str) -> None:
    if getattr(cell, "coordinate", None) is None:  # inside a merged range: mark its first cell only
        return
    cell.fill = FILL[finding.severity]
    existing = cell.comment.text + "\n\n" if cell.comment else ""
    cell.comment = Comment(existing + text, "MVH", width=320, height=140)

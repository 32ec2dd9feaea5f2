"""The partner's quarterly workbook, generated from indicators.yaml with openpyxl.

Layout (the reader relies on it, and tolerates moved columns and extra rows):
- an instructions sheet in the partner's language;
- every field's help says how to fill it in; a date's help shows the form its language writes
  dates in ({date_format}, declared in pipelines/intake/messages.yaml, the same form the reader's
  fix for an unreadable date shows);
- the cover, a form: labels in column A, values in column B, help in column C; country and
  quarter filled in and locked (the sheet is protected, the partner's cells are not);
- one table sheet per data sheet: a title in row 1, the headers in row 2 (each with its help
  as a comment), data from row 3; drop-down lists for coded values, whole numbers >= 0 for
  counts, dates for dates;
- the participant register, a table sheet after them, which a partner may leave empty (or send
  as a file of its own, see pipelines/intake/register.py);
- a very hidden `_stamp` sheet with the template version, country, quarter and language, and a
  hidden `_lists` sheet holding the drop-down values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from pipelines.declaration.registry import Registry, Sheet, SheetField
from pipelines.intake import messages

STAMP_SHEET = "_stamp"
LISTS_SHEET = "_lists"
HEADER_ROW = 2
FIRST_DATA_ROW = 3
DATA_ROWS = 500  # rows prepared with validations in each table sheet

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
LOCKED_FILL = PatternFill("solid", fgColor="E7E6E6")
INPUT_FILL = PatternFill("solid", fgColor="FFF9DB")


def choice_label(registry: Registry, code_list: str, code: str, lang: str) -> str:
    labels = registry.code_lists[code_list][code]
    return labels.get(lang) or labels["en"]


def help_text(field: SheetField, lang: str) -> str:
    """A field's help in a language (English where it has none), its {date_format} and
    {date_example} written as the language writes dates."""
    return messages.with_dates(field.help.get(lang) or field.help["en"], lang)


def build(
    registry: Registry,
    country: str,
    quarter: str,
    lang: str | None = None,
    generated_at: dt.datetime | None = None,
) -> Workbook:
    """A blank workbook for one country and quarter, in the country's language unless given."""
    info = registry.country(country)
    quarter = registry.quarter(quarter)
    lang = lang or info.language
    if lang not in registry.languages:
        raise ValueError(
            f"unknown language {lang!r}; choose one of {', '.join(registry.languages)}"
        )
    wb = Workbook()
    _instructions(wb.active, registry, lang)
    lists = _lists(wb, registry, lang)
    for sheet in registry.template.sheets:
        ws = wb.create_sheet(sheet.label(lang))
        if sheet.layout == "form":
            _form(
                ws,
                sheet,
                registry,
                lang,
                {"country": country, "quarter": quarter, "partner": info.partners[0]},
                lists,
            )
        else:
            _table(ws, sheet, lang, lists)
    # the participant register: optional, one row per participation (or a file of its own)
    if registry.participant_register:
        _table(wb.create_sheet(registry.participant_register.sheet.label(lang)),
               registry.participant_register.sheet, lang, lists)
    generated_at = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    _stamp(wb, registry, country, quarter, lang, generated_at)
    wb.properties.created = wb.properties.modified = generated_at
    wb.active = 1
    return wb


def write(
    registry: Registry, country: str, quarter: str, path: Path, lang: str | None = None
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build(registry, country, quarter, lang).save(path)
    return path


def _instructions(ws, registry: Registry, lang: str) -> None:
    ws.title = registry.template.instructions_title.get(lang) or "Instructions"
    text = registry.template.instructions.get(lang) or registry.template.instructions["en"]
    ws.column_dimensions["A"].width = 120
    ws["A1"] = f"{registry.project.name} — {registry.project.fund}, grant {registry.project.grant}"
    ws["A1"].font = Font(bold=True, size=14)
    for row, line in enumerate(text.splitlines(), start=3):
        ws.cell(row=row, column=1, value=line).alignment = Alignment(wrap_text=True)
    ws.protection.sheet = True


def _lists(wb: Workbook, registry: Registry, lang: str) -> dict[str, str]:
    """Write each code list's labels into a hidden sheet; return list name -> range formula."""
    ws = wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    ranges = {}
    for col, (name, codes) in enumerate(registry.code_lists.items(), start=1):
        ws.cell(row=1, column=col, value=name)
        for row, code in enumerate(codes, start=2):
            ws.cell(row=row, column=col, value=choice_label(registry, name, code, lang))
        letter = get_column_letter(col)
        ranges[name] = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(codes) + 1}"
    return ranges


def _validation(field: SheetField, lang: str, lists: dict[str, str]) -> DataValidation | None:
    """The Excel data validation that keeps a field's cells to its type."""
    prompt = help_text(field, lang)[:250]
    title = field.label(lang)[:32]
    if field.type == "choice":
        dv = DataValidation(type="list", formula1=lists[field.choices], allow_blank=True)
    elif field.type == "integer":
        dv = DataValidation(
            type="whole",
            operator="greaterThanOrEqual",
            formula1=str(int(field.min or 0)),
            allow_blank=True,
        )
    elif field.type == "date":
        dv = DataValidation(
            type="date", operator="between", formula1="36526", formula2="73051", allow_blank=True
        )  # 2000-01-01 .. 2099-12-31
    else:
        dv = DataValidation(allow_blank=True)
    dv.error, dv.errorTitle, dv.showErrorMessage = prompt, title, field.type != "text"
    dv.prompt, dv.promptTitle, dv.showInputMessage = prompt, title, True
    return dv


def _form(ws, sheet: Sheet, registry: Registry, lang: str, values: dict, lists: dict) -> None:
    ws["A1"] = sheet.label(lang)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 42
    ws.column_dimensions["C"].width = 70
    partners = registry.country(values["country"]).partners
    for row, field in enumerate(sheet.fields, start=FIRST_DATA_ROW):
        ws.cell(row=row, column=1, value=field.label(lang)).font = Font(bold=True)
        cell = ws.cell(row=row, column=2, value=values.get(field.id))
        ws.cell(row=row, column=3, value=help_text(field, lang))
        if field.locked:
            cell.fill = LOCKED_FILL
            continue
        cell.fill = INPUT_FILL
        cell.protection = Protection(locked=False)
        if field.type == "partner":
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(p.replace(",", " ") for p in partners) + '"',
                allow_blank=False,
            )
        else:
            dv = _validation(field, lang, lists)
        if field.type == "date":
            cell.number_format = messages.cell_format(lang)
        ws.add_data_validation(dv)
        dv.add(cell)
    ws.protection.sheet = True


def _table(ws, sheet: Sheet, lang: str, lists: dict) -> None:
    ws["A1"] = sheet.label(lang)
    ws["A1"].font = Font(bold=True, size=14)
    last = FIRST_DATA_ROW + DATA_ROWS - 1
    for col, field in enumerate(sheet.fields, start=1):
        letter = get_column_letter(col)
        head = ws.cell(row=HEADER_ROW, column=col, value=field.label(lang))
        head.font = Font(bold=True, color="FFFFFF")
        head.fill = HEADER_FILL
        head.alignment = Alignment(wrap_text=True, vertical="top")
        head.comment = Comment(help_text(field, lang), "MVH")
        ws.column_dimensions[letter].width = max(12, min(40, len(field.label(lang)) + 4))
        dv = _validation(field, lang, lists)
        ws.add_data_validation(dv)
        dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
        if field.type == "date":
            for row in range(FIRST_DATA_ROW, last + 1):
                ws[f"{letter}{row}"].number_format = messages.cell_format(lang)
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)
    ws.row_dimensions[HEADER_ROW].height = 45


def _stamp(
    wb: Workbook,
    registry: Registry,
    country: str,
    quarter: str,
    lang: str,
    generated_at: dt.datetime,
) -> None:
    ws = wb.create_sheet(STAMP_SHEET)
    ws.sheet_state = "veryHidden"
    stamp = {
        "template_version": registry.project.template_version,
        "country": country,
        "quarter": quarter,
        "language": lang,
        "generated_at": generated_at.isoformat(),
    }
    for row, (key, value) in enumerate(stamp.items(), start=1):
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=value)


def fill(
    wb: Workbook, registry: Registry, lang: str, cover: dict, tables: dict[str, list[dict]]
) -> Workbook:
    """Write a partner's answers into a built template, as they would type or pick them.

    Coded values are written as their label in the template's language; dates as dates.
    Used to make demo data and test workbooks.
    """
    for sheet in registry.all_sheets:
        ws = wb[sheet.label(lang)]
        if sheet.layout == "form":
            for row, f in enumerate(sheet.fields, start=FIRST_DATA_ROW):
                if f.id in cover:
                    ws.cell(row=row, column=2, value=_typed_value(registry, f, cover[f.id], lang))
            continue
        for row, record in enumerate(tables.get(sheet.id, []), start=FIRST_DATA_ROW):
            for col, f in enumerate(sheet.fields, start=1):
                value = _typed_value(registry, f, record.get(f.id), lang)
                ws.cell(row=row, column=col, value=value)
    return wb


def _typed_value(registry: Registry, f: SheetField, value, lang: str):
    if value is not None and f.type == "choice" and value in registry.code_lists[f.choices]:
        return choice_label(registry, f.choices, value, lang)
    return value

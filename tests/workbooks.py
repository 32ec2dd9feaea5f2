"""Make test workbooks: a demo workbook with some cells changed, as a partner would."""

from __future__ import annotations

import shutil
from pathlib import Path

from openpyxl import load_workbook


def edited(source: Path, target: Path, edits: dict[tuple[str, str], object]) -> Path:
    """Copy `source` to `target` with cells changed: {(sheet name, "B7"): value}."""
    wb = load_workbook(source)
    for (sheet, cell), value in edits.items():
        wb[sheet][cell] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def copied(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target

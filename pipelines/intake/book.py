"""A workbook as read: its sheets as frames with cell addresses, its stamp and its findings.

Kept apart from the reader so that a file refused before it is read (pipelines/check.py) is
described by the same record without importing pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.intake import findings as F

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SheetData:
    """One sheet: a frame with a column per field and `_row`, the Excel row of each record."""

    id: str
    name: str  # as named in the workbook
    frame: pd.DataFrame
    columns: dict[str, str] = field(default_factory=dict)  # field -> column letter (tables)
    cells: dict[str, str] = field(default_factory=dict)  # field -> cell address (forms)
    first_row: int = 0  # the first data row of a table

    def cell(self, field_id: str, row: int | None = None) -> str:
        if field_id in self.cells:
            return self.cells[field_id]
        letter = self.columns.get(field_id, "")
        return f"{letter}{row}" if letter and row else letter


@dataclass
class ReadBook:
    path: Path
    sha256: str
    size: int
    stamp: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, SheetData] = field(default_factory=dict)
    findings: list[F.Finding] = field(default_factory=list)
    cover_id: str = ""  # the id of the declaration's cover sheet, once it is read
    converted: bytes = b""  # the .xlsx standing for an .ods file (pipelines/intake/ods.py)

    @property
    def cover(self) -> dict:
        frame = self.sheets[self.cover_id].frame if self.cover_id in self.sheets else None
        return frame.iloc[0].to_dict() if frame is not None and len(frame) else {}

    @property
    def country(self) -> str:
        return str(self.cover.get("country") or self.stamp.get("country") or "")

    @property
    def quarter(self) -> str:
        return str(self.cover.get("quarter") or self.stamp.get("quarter") or "")

    @property
    def organisation(self) -> str:
        """The partner organisation the cover names ('' when it names none)."""
        partner = self.cover.get("partner")
        return partner.strip() if isinstance(partner, str) else ""
